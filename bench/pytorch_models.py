"""The PyTorch side of `npm run bench:models`: training samples/s of one single-threaded worker for the reference's
three models (CIFAR variants as fedau builds them), batch 128, SGD with momentum and weight decay, random data
already in memory as tensors (so only the model is timed, as in fedau's measurement on generated data), the fastest
of `--windows` timings (fedau's side takes the fastest of as many).

Prints one JSON object: {"torch": version, "threads": 1, "models": {"lenet": n, "alexnet": n, "resnet18": n}}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc_1, self.fc_2, self.classifier = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, classes)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2)).flatten(1)
        return self.classifier(F.relu(self.fc_2(F.relu(self.fc_1(x)))))


class AlexNet(nn.Module):
    """The reference's CIFAR AlexNet: five bias-free convolutions, three max-pools, one linear layer."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 5, padding=2, bias=False), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 192, 5, padding=2, bias=False), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(192, 384, 3, padding=1, bias=False), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, bias=False), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(4096, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """CIFAR ResNet18: 3×3 stem without max-pool, four stages of two basic blocks, global average pool."""

    def __init__(self, classes=100):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64)
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))


def throughput(model, shape, classes, batch, steps, windows):
    torch.manual_seed(0)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    best = 0.0
    # The fastest of `windows` timings, as fedau's side is measured (bench/run.ts, TIMING_WINDOWS).
    for _ in range(windows):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = max(best, batch * steps / (time.perf_counter() - t0))
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--models", default="lenet,alexnet,resnet18")
    p.add_argument("--windows", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(1)
    setups = {
        "lenet": (lambda: LeNet(10), (1, 28, 28), 10, 8),
        "alexnet": (lambda: AlexNet(10), (3, 32, 32), 10, 2),
        "resnet18": (lambda: ResNet18(100), (3, 32, 32), 100, 1),
    }
    out = {}
    for name in args.models.split(","):
        make, shape, classes, steps = setups[name]
        out[name] = throughput(make().train(), shape, classes, args.batch, steps, args.windows)
    print(json.dumps({"torch": torch.__version__, "threads": 1, "models": out}))


if __name__ == "__main__":
    main()
