"""nnU-Net v2 PlainConvUNet and trained-model folders, in plain PyTorch (Debian's python3-torch, no nnU-Net).

Shared by bench/segment_baseline.py (the pinned PyTorch baseline) and tools/train_demo_model.py (the demo
model). The modules are named exactly as dynamic_network_architectures names them, so a state dict saved here
loads in nnU-Net and in nervemap's native runtime (src/segment), and the other way round:
  encoder.stages.S.0.convs.C.{conv,norm}, decoder.transpconvs.T, decoder.stages.T.convs.C.{conv,norm},
  decoder.seg_layers.T — Conv3d → InstanceNorm3d(affine) → LeakyReLU(0.01); ConvTranspose3d; [up, skip].
"""
import json
import os

import torch
from torch import nn


class ConvNormAct(nn.Module):
    def __init__(self, cin, cout, k, stride, act=True):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, k, stride, [(i - 1) // 2 for i in k], bias=True)
        self.norm = nn.InstanceNorm3d(cout, eps=1e-5, affine=True)
        self.nonlin = nn.LeakyReLU(0.01, inplace=True) if act else None

    def forward(self, x):
        x = self.norm(self.conv(x))
        return self.nonlin(x) if self.nonlin is not None else x


class Stacked(nn.Module):
    def __init__(self, n, cin, cout, k, stride):
        super().__init__()
        self.convs = nn.Sequential(*[ConvNormAct(cin if i == 0 else cout, cout, k, stride if i == 0 else 1)
                                     for i in range(n)])

    def forward(self, x):
        return self.convs(x)


class PlainConvUNet(nn.Module):
    """dynamic_network_architectures PlainConvUNet, same state-dict keys.

    forward() returns the full-resolution logits; with deep_supervision it returns the list of every decoder
    stage's logits, full resolution first, as nnU-Net trains (the checkpoint holds all seg_layers either way).
    """

    def __init__(self, cin, classes, features, kernels, strides, n_conv, n_conv_dec):
        super().__init__()
        self.deep_supervision = False
        self.encoder = nn.Module()
        self.encoder.stages = nn.ModuleList()
        c = cin
        for s, f in enumerate(features):
            self.encoder.stages.append(nn.Sequential(Stacked(n_conv[s], c, f, kernels[s], strides[s])))
            c = f
        self.decoder = nn.Module()
        self.decoder.transpconvs = nn.ModuleList()
        self.decoder.stages = nn.ModuleList()
        self.decoder.seg_layers = nn.ModuleList()
        n = len(features)
        for s in range(1, n):
            below, skip = features[-s], features[-(s + 1)]
            self.decoder.transpconvs.append(nn.ConvTranspose3d(below, skip, strides[-s], strides[-s], bias=True))
            self.decoder.stages.append(Stacked(n_conv_dec[s - 1], 2 * skip, skip, kernels[-(s + 1)], 1))
            self.decoder.seg_layers.append(nn.Conv3d(skip, classes, 1, 1, 0, bias=True))

    def forward(self, x):
        skips = []
        for stage in self.encoder.stages:
            x = stage(x)
            skips.append(x)
        lres = skips[-1]
        outputs = []
        for t in range(len(self.decoder.stages)):
            x = self.decoder.transpconvs[t](lres)
            x = torch.cat((x, skips[-(t + 2)]), 1)
            lres = self.decoder.stages[t](x)
            if self.deep_supervision:
                outputs.append(self.decoder.seg_layers[t](lres))
        if self.deep_supervision:
            return outputs[::-1]
        return self.decoder.seg_layers[-1](lres)


def architecture(features, strides, kernels=None, n_conv=2):
    """plans.json 'architecture' of a PlainConvUNet (conv bias, affine instance norm, LeakyReLU)."""
    n = len(features)
    kernels = kernels or [[3, 3, 3]] * n
    return {
        'network_class_name': 'dynamic_network_architectures.architectures.unet.PlainConvUNet',
        'arch_kwargs': {
            'n_stages': n, 'features_per_stage': features, 'conv_op': 'torch.nn.modules.conv.Conv3d',
            'kernel_sizes': kernels, 'strides': strides, 'n_conv_per_stage': [n_conv] * n,
            'n_conv_per_stage_decoder': [n_conv] * (n - 1), 'conv_bias': True,
            'norm_op': 'torch.nn.modules.instancenorm.InstanceNorm3d',
            'norm_op_kwargs': {'eps': 1e-05, 'affine': True}, 'dropout_op': None, 'dropout_op_kwargs': None,
            'nonlin': 'torch.nn.LeakyReLU', 'nonlin_kwargs': {'inplace': True}},
        '_kw_requires_import': ['conv_op', 'norm_op', 'dropout_op', 'nonlin']}


def plans(dataset_name, arch, patch, spacing, intensity):
    """nnU-Net v2 plans.json with one 3d_fullres configuration and CT normalisation.

    `intensity`: foreground intensity properties of the CT channel (mean, std, median, min, max,
    percentile_00_5, percentile_99_5), as nnU-Net's fingerprint extraction writes them.
    """
    resampling = {'is_seg': False, 'order': 3, 'order_z': 0, 'force_separate_z': None}
    return {
        'dataset_name': dataset_name, 'plans_name': 'nnUNetPlans', 'image_reader_writer': 'SimpleITKIO',
        'transpose_forward': [0, 1, 2], 'transpose_backward': [0, 1, 2],
        'configurations': {'3d_fullres': {
            'data_identifier': 'nnUNetPlans_3d_fullres', 'preprocessor_name': 'DefaultPreprocessor',
            'patch_size': list(patch), 'spacing': list(spacing), 'normalization_schemes': ['CTNormalization'],
            'use_mask_for_norm': [False], 'resampling_fn_data': 'resample_data_or_seg_to_shape',
            'resampling_fn_data_kwargs': resampling,
            'resampling_fn_seg': 'resample_data_or_seg_to_shape',
            'resampling_fn_seg_kwargs': dict(resampling, is_seg=True, order=1),
            'resampling_fn_probabilities': 'resample_data_or_seg_to_shape',
            'resampling_fn_probabilities_kwargs': dict(resampling, order=1),
            'architecture': arch}},
        'foreground_intensity_properties_per_channel': {'0': intensity}}


def build(plans_json, num_classes):
    config = plans_json['configurations']['3d_fullres']
    if not config['architecture']['network_class_name'].endswith('PlainConvUNet'):
        raise SystemExit('only PlainConvUNet is built here')
    k = config['architecture']['arch_kwargs']
    return PlainConvUNet(1, num_classes, k['features_per_stage'], k['kernel_sizes'], k['strides'],
                         k['n_conv_per_stage'], k['n_conv_per_stage_decoder'])


def write_model_folder(out, plans_json, dataset_json, net, fold=0, extra=None):
    """dataset.json, plans.json and fold_N/checkpoint_final.pth as nnUNetTrainer.save_checkpoint writes them."""
    os.makedirs(os.path.join(out, f'fold_{fold}'), exist_ok=True)
    with open(os.path.join(out, 'plans.json'), 'w') as f:
        json.dump(plans_json, f, indent=2)
    with open(os.path.join(out, 'dataset.json'), 'w') as f:
        json.dump(dataset_json, f, indent=2)
    checkpoint = {'network_weights': net.state_dict(), 'trainer_name': 'nnUNetTrainer',
                  'init_args': {'configuration': '3d_fullres', 'fold': fold, 'device': torch.device('cpu')},
                  'inference_allowed_mirroring_axes': (0, 1, 2), 'current_epoch': 0}
    if extra:
        checkpoint.update(extra)
    torch.save(checkpoint, os.path.join(out, f'fold_{fold}', 'checkpoint_final.pth'))
