import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { callKernel, dispose, type WasmBackend } from './util.ts';

/**
 * Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks. The filter gradient is itself a convolution in
 * which the batch axis plays the channel role:
 *   dW[kh,kw,ci,co] = Σ_n Σ_oh,ow x[n, oh·s+kh, ow·s+kw, ci] · dy[n, oh, ow, co]
 * so x transposed to [Cin, H, W, N], convolved (XNNPACK) with dy transposed to [OH, OW, N, Cout] as the filter,
 * at dilation = the forward stride, gives [Cin, KH', KW', Cout]; slice to the kernel size and transpose back.
 */
function conv2DBackpropFilter({
  inputs,
  backend,
  attrs,
}: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmBackend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
  attrs: any;
}): TensorInfo {
  const { x, dy } = inputs;
  const { strides, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  const xT = callKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = callKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = callKernel(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [info.strideHeight, info.strideWidth],
    },
  );
  dispose(backend, xT, dyT);
  let cropped = conv;
  if (conv.shape[1] !== info.filterHeight || conv.shape[2] !== info.filterWidth) {
    cropped = callKernel(
      'Slice',
      backend,
      { x: conv },
      { begin: [0, 0, 0, 0], size: [conv.shape[0], info.filterHeight, info.filterWidth, conv.shape[3]] },
    );
    dispose(backend, conv);
  }
  const out = callKernel('Transpose', backend, { x: cropped }, { perm: [1, 2, 0, 3] });
  dispose(backend, cropped);
  return out;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
