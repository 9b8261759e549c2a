#!/usr/bin/python3
"""Pinned PyTorch baseline for bench/segment_bench.cpp (the native nnU-Net runtime).

Run with Debian's interpreter and torch (python3-torch 1.13, CPU; OpenBLAS installed):

    /usr/bin/python3 bench/segment_baseline.py make-model --out /tmp/ts_net --stages 6 --patch 128 128 128
    /usr/bin/python3 bench/segment_baseline.py time --model /tmp/ts_net --threads 2 --repeats 5 \
        --image 160 160 160 [--json baseline.json]

`make-model` writes an nnU-Net v2 trained-model folder (dataset.json, plans.json, fold_0/checkpoint_final.pth
saved with torch.save as nnUNetTrainer does) with a PlainConvUNet of random weights: features 32·2^s capped at
320, kernels 3, strides 1, 2, 2, …, two convs per stage — the shape of TotalSegmentator's networks.
`time` builds the same network with torch.nn modules named exactly as dynamic_network_architectures names them
(Conv3d → InstanceNorm3d(affine) → LeakyReLU(0.01, inplace); ConvTranspose3d; concatenation [up, skip]),
loads the checkpoint's weights, and times in inference mode after one warm-up, median of --repeats:
  1. one forward pass on a patch-sized input;
  2. nnU-Net's sliding window over an --image-sized preprocessed input (pad, tile steps at 0.5, Gaussian
     importance map as compute_gaussian, half-precision accumulators as on the CPU in
     _internal_predict_sliding_window_return_logits, no mirroring).
The network is tools/nnunet_net.py. The inputs are the deterministic hash pattern the C++ benchmark uses, so both sides do identical work.
"""
import argparse
import json
import os
import statistics
import sys
import time
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
import nnunet_net  # noqa: E402  (tools/nnunet_net.py: the network and the model-folder layout)


# ----------------------------------------------------------------------------------------------- model folder


def make_model(args):
    n = args.stages
    features = [min(32 * 2 ** s, 320) for s in range(n)]
    strides = [[1, 1, 1]] + [[2, 2, 2]] * (n - 1)
    intensity = {'mean': 0.0, 'std': 300.0, 'percentile_00_5': -1000.0, 'percentile_99_5': 1500.0,
                 'median': 0.0, 'min': -1024.0, 'max': 3000.0}
    plans = nnunet_net.plans('Dataset999_Benchmark', nnunet_net.architecture(features, strides), args.patch,
                             [1.5, 1.5, 1.5], intensity)
    labels = OrderedDict([('background', 0)] + [('class_%d' % i, i) for i in range(1, args.classes)])
    dataset = {'channel_names': {'0': 'CT'}, 'labels': labels, 'numTraining': 1, 'file_ending': '.nii.gz'}
    torch.manual_seed(args.seed)
    net = nnunet_net.build(plans, args.classes)
    with torch.no_grad():
        for name, p in net.named_parameters():  # He-like init; norms near identity
            if name.endswith('norm.weight'):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith('bias'):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                fan_in = p[0].numel() if 'transpconvs' not in name else p.shape[0]
                p.copy_(torch.randn_like(p) * (2.0 / fan_in) ** 0.5)
    nnunet_net.write_model_folder(args.out, plans, dataset, net)
    params = sum(p.numel() for p in net.parameters())
    print(f'wrote {args.out}: PlainConvUNet {n} stages {features}, patch {args.patch}, {args.classes} classes, '
          f'{params / 1e6:.2f} M parameters')


# ----------------------------------------------------------------------------------------------- timing


def hash_input(shape):
    """The deterministic input pattern shared with segment_bench.cpp: ((i·2654435761) mod 2^32)/2^32·4 − 2."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.uint64)
    v = ((i * np.uint64(2654435761)) % np.uint64(2 ** 32)).astype(np.float64) / 2 ** 32 * 4 - 2
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def gaussian(patch):
    """compute_gaussian(patch, 1/8, 10) without scipy: product of truncated normalised 1-D kernels."""
    g = np.ones(patch)
    for a, p in enumerate(patch):
        sigma = p / 8
        r = int(4 * sigma + 0.5)
        x = np.arange(-r, r + 1)
        phi = np.exp(-0.5 / sigma ** 2 * x ** 2)
        phi /= phi.sum()
        k = np.zeros(p)
        c = p // 2
        for i in range(p):
            if abs(i - c) <= r:
                k[i] = phi[i - c + r]
        shape = [1, 1, 1]
        shape[a] = p
        g = g * k.reshape(shape)
    g = torch.from_numpy(g / g.max() * 10).half()
    g[g == 0] = g[g != 0].min()
    return g


def steps(image, patch, step=0.5):
    out = []
    for i, p in zip(image, patch):
        n = int(np.ceil((i - p) / (p * step))) + 1
        actual = (i - p) / (n - 1) if n > 1 else 99999999999
        out.append([int(np.round(actual * k)) for k in range(n)])
    return out


def sliding_window(net, data, patch, classes):
    """nnU-Net's CPU sliding window (no mirroring): half accumulators, Gaussian weighting."""
    shape = data.shape[1:]
    pad = [max(0, p - s) for s, p in zip(shape, patch)]
    if any(pad):
        data = torch.nn.functional.pad(data, sum([[d // 2, d - d // 2] for d in reversed(pad)], []))
    image = data.shape[1:]
    g = gaussian(patch)
    logits = torch.zeros((classes, *image), dtype=torch.half)
    weight = torch.zeros(image, dtype=torch.half)
    for sx in steps(image, patch)[0]:
        for sy in steps(image, patch)[1]:
            for sz in steps(image, patch)[2]:
                sl = (slice(None), slice(sx, sx + patch[0]), slice(sy, sy + patch[1]), slice(sz, sz + patch[2]))
                tile = torch.clone(data[sl][None], memory_format=torch.contiguous_format)
                pred = net(tile)[0]
                pred *= g
                logits[sl] += pred
                weight[sl[1:]] += g
    torch.div(logits, weight, out=logits)
    return logits


def median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def time_model(args):
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, 'plans.json')) as f:
        plans = json.load(f)
    with open(os.path.join(args.model, 'dataset.json')) as f:
        plans['_num_classes'] = len(json.load(f)['labels'])
    net = nnunet_net.build(plans, plans['_num_classes'])
    ck = torch.load(os.path.join(args.model, 'fold_0', 'checkpoint_final.pth'), map_location='cpu')
    sd = OrderedDict((k, v) for k, v in ck['network_weights'].items()
                     if '.all_modules.' not in k and not k.startswith('decoder.encoder.'))
    net.load_state_dict(sd)
    net.eval()
    patch = plans['configurations']['3d_fullres']['patch_size']
    classes = plans['_num_classes']
    result = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'patch': patch,
              'blas': os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')}
    with torch.inference_mode():
        x = hash_input((1, 1, *patch))
        result['forward_s'], result['forward_runs_s'] = median_time(lambda: net(x), args.repeats)
        if args.image:
            data = hash_input((1, *args.image))
            result['image'] = args.image
            result['tiles'] = int(np.prod([len(s) for s in steps([max(i, p) for i, p in zip(args.image, patch)],
                                                                   patch)]))
            result['sliding_window_s'], result['sliding_window_runs_s'] = median_time(
                lambda: sliding_window(net, data, patch, classes), args.sw_repeats or args.repeats)
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    m = sub.add_parser('make-model')
    m.add_argument('--out', required=True)
    m.add_argument('--stages', type=int, default=6)
    m.add_argument('--patch', type=int, nargs=3, default=[128, 128, 128])
    m.add_argument('--classes', type=int, default=25)
    m.add_argument('--seed', type=int, default=0)
    t = sub.add_parser('time')
    t.add_argument('--model', required=True)
    t.add_argument('--threads', type=int, default=2)
    t.add_argument('--repeats', type=int, default=5)
    t.add_argument('--sw-repeats', type=int, default=0)
    t.add_argument('--image', type=int, nargs=3)
    t.add_argument('--json')
    args = p.parse_args()
    make_model(args) if args.command == 'make-model' else time_model(args)


if __name__ == '__main__':
    main()
