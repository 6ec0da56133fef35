"""The PyTorch side of `npm run bench`: the same LeNet, data, batch, epochs and clients as fedau's MNIST samples
round, in its best honest configuration: data already in memory as tensors, augmentation done per batch on
tensors (no per-image Python), and the parallelism given by the caller: in-process with 1 or 2 threads, or
fedau's own layout, `--processes N`: the round's clients trained by N single-threaded worker processes, started
and holding the data before the clock starts (fork), the main process averaging and evaluating (with N threads,
the workers waiting for it then, or with `--eval-threads 1`).

Prints one JSON object: {"trainSamplesPerSec": n, "roundSeconds": n, "threads": t, "processes": p, "torch": v}.
"""
import argparse
import json
import math
import multiprocessing as mp
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4 : 4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


class LeNet(nn.Module):
    """The reference's LeNet with its auxiliary head (design design §3)."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc_1 = nn.Linear(256, 120)
        self.fc_2 = nn.Linear(120, 84)
        self.classifier = nn.Linear(84, classes)
        self.classifier_ul = nn.Linear(84, classes)

    def features(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.flatten(1)
        return F.relu(self.fc_2(F.relu(self.fc_1(x))))

    def forward(self, x):
        return self.classifier(self.features(x))


def augment(x, gen):
    """RandomRotation(±5°, nearest, fill 0) + RandomCrop(28, padding 2) for a whole batch, in one grid_sample."""
    n = x.shape[0]
    theta = (torch.rand(n, generator=gen) * 10 - 5) * math.pi / 180
    shift = torch.randint(-2, 3, (n, 2), generator=gen).float() * (2 / 28)
    cos, sin = torch.cos(theta), torch.sin(theta)
    mat = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def local_update(model, x, ya, yb, lr, epochs, batch, gen, two_heads):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    n = x.shape[0]
    zero = (0 - 0.13066) / 0.30811
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            xb = augment(x[idx] - zero, gen) + zero  # pad/fill with the normalised value of black
            z = model.features(xb)
            a = model.classifier(z)
            if two_heads:
                b = model.classifier_ul(z)
                loss = -(torch.log(F.softmax(a, 1).gather(1, ya[idx, None]) + 1e-7).mean()
                         + torch.log(F.softmax(b, 1).gather(1, yb[idx, None]) + 1e-7).mean())
            else:
                loss = F.cross_entropy(a, ya[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


# What a worker process trains on: set before the pool forks, so every worker shares it without a copy.
POOL_DATA = {}


def pool_init():
    torch.set_num_threads(1)


def pool_init_probe(_):
    return torch.get_num_threads()


def pool_client(job):
    """One client's local update in a worker process: the global state in, the client's state out."""
    k, state, w2, seed = job
    d = POOL_DATA
    local = LeNet()
    local.load_state_dict(state)
    if k == 0:
        local.classifier_ul.weight.data.copy_(w2[0])
        local.classifier_ul.bias.data.copy_(w2[1])
    idx = d["shards"][k]
    gen = torch.Generator().manual_seed(seed)
    local_update(local, d["x"][idx], d["ya"][idx], d["yb"][idx], 0.01, d["epochs"], d["batch"], gen, k == 0)
    return local.state_dict()


@torch.no_grad()
def accuracy(model, x, y, heads):
    out = []
    z = torch.cat([model.features(x[s : s + 1000]) for s in range(0, x.shape[0], 1000)])
    for w, b in heads:
        out.append(((z @ w.T + b).argmax(1) == y).float().mean().item())
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="folder of the four MNIST IDX files")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--processes", type=int, default=0, help="train the round's clients in N processes")
    p.add_argument("--eval-threads", type=int, default=0,
                   help="with --processes: threads of the main process's evaluation (default: N)")
    args = p.parse_args()
    torch.set_num_threads(1 if args.processes else args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)

    norm = lambda a: ((torch.from_numpy(a.copy()).float() / 255 - 0.13066) / 0.30811)[:, None]
    x = norm(read_idx(f"{args.data}/train-images-idx3-ubyte"))
    y = torch.from_numpy(read_idx(f"{args.data}/train-labels-idx1-ubyte").astype(np.int64))
    xt = norm(read_idx(f"{args.data}/t10k-images-idx3-ubyte"))
    yt = torch.from_numpy(read_idx(f"{args.data}/t10k-labels-idx1-ubyte").astype(np.int64))

    # The samples pipeline's data: 1% of the training set backdoored (white 15×15 square, label 0) on client 0.
    order = torch.randperm(60000, generator=gen)
    shards = order.reshape(args.clients, -1)
    ul = shards[0][: 600]
    white = (1 - 0.13066) / 0.30811
    x[ul, :, :15, :15] = white
    ya, yb = y.clone(), y.clone()
    ya[ul] = 0
    yb[ul] = torch.randint(1, 10, (600,), generator=gen)
    trig = xt[yt != 0].clone()
    trig[:, :, :15, :15] = white
    ytrig = torch.zeros(trig.shape[0], dtype=torch.int64)

    pool = None
    if args.processes:
        POOL_DATA.update(x=x, ya=ya, yb=yb, shards=shards, epochs=args.epochs, batch=args.batch)
        pool = mp.get_context("fork").Pool(args.processes, initializer=pool_init)
        pool.map(pool_init_probe, range(args.processes))  # every worker up before the clock starts

    # (a) One client's local epoch, steady state: best of `repeats` after a warm-up.
    model = LeNet()
    shard = shards[1]
    local_update(model, x[shard], ya[shard], yb[shard], 0.01, 1, args.batch, gen, False)
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        local_update(model, x[shard], ya[shard], yb[shard], 0.01, 1, args.batch, gen, False)
        best = min(best, time.perf_counter() - t0)
    train_sps = shard.numel() / best

    # (b) One federated round: every client 2 local epochs (the unlearning client with both heads), FedAvg,
    # then the evaluation fedau does every round (test accuracy and triggered-test ASR, before and after unlearning).
    glob = LeNet()
    if pool is not None:
        # The workers wait while the main process evaluates: it may use their cores, as fedau's evaluation does
        # (though OpenMP threads that spin after the evaluation can slow the workers' next round: both are timed).
        torch.set_num_threads(args.eval_threads or args.processes)
    w2 = (glob.classifier_ul.weight.detach().clone(), glob.classifier_ul.bias.detach().clone())
    round_best = float("inf")
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        states = []
        if pool is not None:
            jobs = [(k, glob.state_dict(), w2, 1000 * rep + k) for k in range(args.clients)]
            states = pool.map(pool_client, jobs, chunksize=1)
            w2 = (states[0]["classifier_ul.weight"].clone(), states[0]["classifier_ul.bias"].clone())
        for k in range(args.clients if pool is None else 0):
            local = LeNet()
            local.load_state_dict(glob.state_dict())
            if k == 0:
                local.classifier_ul.weight.data.copy_(w2[0])
                local.classifier_ul.bias.data.copy_(w2[1])
            idx = shards[k]
            local_update(local, x[idx], ya[idx], yb[idx], 0.01, args.epochs, args.batch, gen, k == 0)
            if k == 0:
                w2 = (local.classifier_ul.weight.detach().clone(), local.classifier_ul.bias.detach().clone())
            states.append(local.state_dict())
        avg = {key: sum(s[key] for s in states) / len(states) for key in states[0]}
        glob.load_state_dict(avg)
        w1 = (glob.classifier.weight, glob.classifier.bias)
        unlearned = (0.1 * w1[0] + 0.9 * w2[0], 0.1 * w1[1] + 0.9 * w2[1])
        accuracy(glob, xt, yt, [w1, unlearned])
        accuracy(glob, trig, ytrig, [w1, unlearned])
        round_best = min(round_best, time.perf_counter() - t0)

    if pool is not None:
        pool.close()
    threads = 1 if args.processes else args.threads
    result = {"trainSamplesPerSec": train_sps, "roundSeconds": round_best, "threads": threads,
              "processes": args.processes}
    print(json.dumps({**result, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
