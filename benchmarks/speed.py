"""Training-step and multi-view test speed of AVSlowFast against stock SlowFast.

Models: the backbone + head of ``configs/avslowfast_r50_kinetics.py``
(AVSlowFast R50 4x16, 400 classes) and MMAction2's stock ``ResNet3dSlowFast``
+ ``SlowFastHead`` R50 4x16. AVSlowFast runs twice on the same weights:
``before`` (``share_eval_audio=False, skip_gated_avs=False``: every view runs
the audio pathway, gated-off AVS branches are computed) and ``after`` (the
shipped defaults). Every round times all models back to back (paired), and
the reported ratio is the median over rounds of the per-round ratios, so
load on the machine affects both sides of a ratio alike.

(a) Training step: forward + backward + SGD step, batch ``--batch`` clips of
32 frames at ``--crop``; AVSlowFast with its AVS negative (audio
``[B, 2, 128, 80]``). DropPathway (p = 0.8 in the config) decides whether
the A->FS laterals fuse; both outcomes are timed each round and combined as
``p * t_dropped + (1 - p) * t_fused``.

(b) Multi-view test of one video: ``--test-clips`` x ``--test-crops`` views
at ``--test-size`` (10 x 3 at 256 is the configs' protocol; on a CPU the
default is 2 x 3 with the same grouping), crop-major views as
``AlignAudioViews`` lays them out (every crop of a clip has its audio).

FLOPs (``mmengine.analysis.FlopAnalyzer``, 1 multiply-add = 1 flop) of the
same forward passes are printed beside the time ratios (training: the
weighted forward; backward costs ~2x forward on both sides).

Usage::

    python benchmarks/speed.py [--device cpu|cuda] [--dtypes fp32 bf16 fp16]
        [--rounds 3] [--crop 224] [--test-size 256] [--test-clips 2]
        [--channels-last] [--profile] [--out benchmarks/results/speed.json]

On CUDA: ``cudnn.benchmark`` on, AMP via ``torch.autocast`` (fp16 with a
``GradScaler`` as MMEngine's ``AmpOptimWrapper``), peak memory per case.
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import mmaction_avslowfast  # noqa: F401  (registers modules, applies shims)
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmaction.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'avslowfast_r50_kinetics.py')
DTYPES = dict(fp32=None, fp16=torch.float16, bf16=torch.bfloat16)


class Classifier(nn.Module):
    """Backbone + head; ``forward`` returns the classification logits plus
    (AVSlowFast, training) the sum of the backbone's AVS losses."""

    def __init__(self, backbone: nn.Module, head: nn.Module,
                 audio: bool) -> None:
        super().__init__()
        self.backbone, self.cls_head, self.audio = backbone, head, audio

    def forward(self, imgs, audios=None):
        if self.audio:
            feats, avs = self.backbone(imgs, audios, return_avs=True)
        else:
            feats, avs = self.backbone(imgs), {}
        scores = self.cls_head(feats)
        aux = [v for k, v in avs.items() if k.startswith('loss')]
        return scores, sum(aux) if aux else None


def build_models(device):
    init_default_scope('mmaction')
    cfg = Config.fromfile(CONFIG).model
    av = Classifier(MODELS.build(cfg.backbone), MODELS.build(cfg.cls_head),
                    audio=True)
    sf = Classifier(
        MODELS.build(dict(type='ResNet3dSlowFast')),
        MODELS.build(dict(type='SlowFastHead', num_classes=400,
                          in_channels=2304, dropout_ratio=0.5)),
        audio=False)
    for model in (av, sf):
        model.backbone.init_weights()
        model.cls_head.init_weights()
    av.backbone.set_epoch(0)  # AVS curriculum: first epoch, easy negatives
    return av.to(device), sf.to(device), cfg.backbone.get('drop_pathway', 0.8)


def set_variant(av, variant):
    av.backbone.share_eval_audio = variant == 'after'
    av.backbone.skip_gated_avs = variant == 'after'


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def train_inputs(args, device, audio=True):
    imgs = torch.randn(args.batch, 3, 32, args.crop, args.crop, device=device)
    audios = torch.randn(args.batch, 2, 128, 80, device=device)
    if args.channels_last and device.type == 'cuda':
        imgs = imgs.contiguous(memory_format=torch.channels_last_3d)
    labels = torch.randint(0, 400, (args.batch, ), device=device)
    return imgs, audios, labels


def test_inputs(args, device):
    """One video: ``[V, 3, 32, S, S]`` views and their audio, crop-major."""
    clips, crops, size = args.test_clips, args.test_crops, args.test_size
    imgs = torch.randn(clips * crops, 3, 32, size, size, device=device)
    clip_audio = torch.randn(clips, 1, 128, 80, device=device)
    audios = clip_audio[[v % clips for v in range(clips * crops)]]
    if args.channels_last and device.type == 'cuda':
        imgs = imgs.contiguous(memory_format=torch.channels_last_3d)
    return imgs, audios


def train_step(model, optim, scaler, inputs, dtype, drop=None):
    imgs, audios, labels = inputs
    if drop is not None:
        model.backbone.drop_pathway = drop
    with torch.autocast(imgs.device.type, dtype=dtype,
                        enabled=dtype is not None):
        scores, aux = model(imgs, audios)
        loss = F.cross_entropy(scores.float(), labels)
        if aux is not None:
            loss = loss + aux
    optim.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optim)
        scaler.update()
    else:
        loss.backward()
        optim.step()
    if not torch.isfinite(loss):
        raise FloatingPointError(f'non-finite training loss {loss.item()}')


def test_forward(model, inputs, dtype):
    imgs, audios = inputs
    with torch.no_grad(), torch.autocast(imgs.device.type, dtype=dtype,
                                         enabled=dtype is not None):
        scores, _ = model(imgs, audios)
        scores.float().softmax(dim=1).mean(dim=0)


def timed(fn, device):
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    peak = (torch.cuda.max_memory_allocated(device) / 2**30
            if device.type == 'cuda' else None)
    return time.perf_counter() - start, peak


class _Traced(nn.Module):
    """Tensor-only outputs for the tracer: logits (+ AVS loss)."""

    def __init__(self, model: Classifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs):
        scores, aux = self.model(*inputs)
        return scores if aux is None else scores + aux


def gflops(model, inputs):
    analyzer = FlopAnalyzer(_Traced(model), inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total() / 1e9


def flop_ratios(args, av, sf, p_drop, device):
    """FLOPs of the timed forwards (fp32; ratios AVSlowFast / SlowFast)."""
    out = {}
    imgs, audios, _ = train_inputs(args, device)
    sf.train(), av.train()
    with torch.no_grad():
        base = gflops(sf, (imgs, ))
        for variant in ('before', 'after'):
            set_variant(av, variant)
            av.backbone.drop_pathway = 1.0
            dropped = gflops(av, (imgs, audios))
            av.backbone.drop_pathway = 0.0
            fused = gflops(av, (imgs, audios))
            out[f'train_{variant}'] = (p_drop * dropped +
                                       (1 - p_drop) * fused) / base
        sf.eval(), av.eval()
        # one temporal clip's crops; the ratio is the same for every clip
        crops = args.test_crops
        imgs = torch.randn(crops, 3, 32, args.test_size, args.test_size,
                           device=device)
        audios = torch.randn(1, 1, 128, 80, device=device).expand(
            crops, -1, -1, -1).contiguous()
        base = gflops(sf, (imgs, ))
        for variant in ('before', 'after'):
            set_variant(av, variant)
            out[f'test_{variant}'] = gflops(av, (imgs, audios)) / base
    return out


def run_dtype(args, av, sf, p_drop, device, dtype_name):
    dtype = DTYPES[dtype_name]
    rows = {}

    def record(case, model_name, seconds, peak):
        entry = rows.setdefault((case, model_name), dict(times=[], peak=0))
        entry['times'].append(seconds)
        if peak is not None:
            entry['peak'] = max(entry['peak'], peak)

    scaler_on = dtype == torch.float16 and device.type == 'cuda'
    optims = {id(m): torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9)
              for m in (av, sf)}
    scalers = {id(m): torch.cuda.amp.GradScaler() if scaler_on else None
               for m in (av, sf)}
    tr_in = train_inputs(args, device)
    te_in = test_inputs(args, device)

    def step(model, drop=None):
        train_step(model, optims[id(model)], scalers[id(model)], tr_in,
                   dtype, drop)

    # warm-up (allocator, cudnn.benchmark, oneDNN primitives)
    av.train(), sf.train()
    for variant in ('before', 'after'):
        set_variant(av, variant)
        step(av, 1.0), step(av, 0.0)
    step(sf)
    for r in range(args.rounds):
        av.train(), sf.train()
        order = ['sf', 'before', 'after']
        if r % 2:
            order.reverse()
        for name in order:
            if name == 'sf':
                record('train', 'sf', *timed(lambda: step(sf), device))
                continue
            set_variant(av, name)
            t_d, m_d = timed(lambda: step(av, 1.0), device)
            t_f, m_f = timed(lambda: step(av, 0.0), device)
            record('train', name, p_drop * t_d + (1 - p_drop) * t_f,
                   None if m_d is None else max(m_d, m_f))
        av.eval(), sf.eval()
        if r == 0:  # warm-up of the eval path
            test_forward(sf, te_in, dtype)
            for variant in ('before', 'after'):
                set_variant(av, variant)
                test_forward(av, te_in, dtype)
        for name in order:
            model = sf if name == 'sf' else av
            if name != 'sf':
                set_variant(av, name)
            record('test', name, *timed(
                lambda: test_forward(model, te_in, dtype), device))
    av.backbone.drop_pathway = p_drop
    set_variant(av, 'after')
    return rows


def summarise(rows, flops, dtype_name, args):
    out = []
    for case in ('train', 'test'):
        sf_times = rows[(case, 'sf')]['times']
        for name in ('sf', 'before', 'after'):
            times = rows[(case, name)]['times']
            ratios = [t / s for t, s in zip(times, sf_times)]
            out.append(dict(
                case=case, dtype=dtype_name, model=name,
                seconds=round(statistics.median(times), 4),
                ratio=round(statistics.median(ratios), 3),
                ratio_min=round(min(ratios), 3),
                ratio_max=round(max(ratios), 3),
                flops_ratio=(1.0 if name == 'sf' else round(
                    flops[f'{case}_{name}'], 3)) if flops else None,
                peak_gib=(round(rows[(case, name)]['peak'], 2)
                          if rows[(case, name)]['peak'] else None)))
    return out


NAMES = dict(sf='SlowFast R50 4x16 (stock)',
             before='AVSlowFast, before (no sharing/skip)',
             after='AVSlowFast (shipped)')


def print_table(results, args, device):
    test = (f'{args.test_clips}x{args.test_crops} views at '
            f'{args.test_size}^2')
    print(f'device {device_name(device)}; training step: batch '
          f'{args.batch} x 32 frames at {args.crop}^2; test: one video, '
          f'{test}; {args.rounds} paired rounds (median ratio, [min, max])')
    header = (f'{"case":6s} {"dtype":5s} {"model":38s} {"s":>8s} '
              f'{"x SF":>6s} {"[min, max]":>14s} {"FLOPs x SF":>10s} '
              f'{"peak GiB":>8s}')
    print(header)
    print('-' * len(header))
    for r in results:
        flops = '-' if r['flops_ratio'] is None else f'{r["flops_ratio"]:.3f}'
        peak = '-' if r['peak_gib'] is None else f'{r["peak_gib"]:.2f}'
        spread = f'[{r["ratio_min"]:.2f}, {r["ratio_max"]:.2f}]'
        print(f'{r["case"]:6s} {r["dtype"]:5s} {NAMES[r["model"]]:38s} '
              f'{r["seconds"]:8.3f} {r["ratio"]:6.3f} {spread:>14s} '
              f'{flops:>10s} {peak:>8s}')


def device_name(device):
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return (f'CPU ({platform.processor() or platform.machine()}, '
            f'{torch.get_num_threads()} threads)')


def profile(args, av, sf, device):
    """Where the extra time of a training step goes: forward time of each
    part of AVSlowFast (record_function ranges), then the top operators of
    a dropped and a fused step next to one SlowFast step."""
    from torch.profiler import ProfilerActivity, profile as torch_profile
    from torch.profiler import record_function
    bb = av.backbone
    parts = [('audio_pathway', bb.audio_path), ('head', av.cls_head)]
    parts += [(f'slow_{n}', getattr(bb.slow_path, n))
              for n in ['conv1'] + list(bb.slow_path.res_layers)]
    parts += [(f'fast_{n}', getattr(bb.fast_path, n))
              for n in ['conv1'] + list(bb.fast_path.res_layers)]
    parts += [(f'fs_lateral_{n}', getattr(bb.slow_path, n))
              for n in bb.slow_path.lateral_connections]
    parts += [(f'a2fs_lateral_{n}', m) for n, m in bb.audio_laterals.items()]
    parts += [(f'avs_head_{n}', m) for n, m in bb.avs_heads.items()]
    if hasattr(bb, 'avs_fast_lateral_res5'):
        parts.append(('avs_res5_fs_lateral', bb.avs_fast_lateral_res5))
    handles, open_ranges = [], {}
    for name, module in parts:
        def pre(mod, args_, name=name):
            open_ranges.setdefault(name, []).append(
                record_function(f'## {name}').__enter__())

        def post(mod, args_, out, name=name):
            open_ranges[name].pop().__exit__(None, None, None)
        handles += [module.register_forward_pre_hook(pre),
                    module.register_forward_hook(post)]
    activities = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    optim = torch.optim.SGD(av.parameters(), lr=1e-4)
    inputs = train_inputs(args, device)
    av.train()
    set_variant(av, 'after')
    for drop in (1.0, 0.0):
        train_step(av, optim, None, inputs, None, drop)  # warm-up
        with torch_profile(activities=activities) as prof:
            train_step(av, optim, None, inputs, None, drop)
        events = prof.key_averages()
        label = 'dropped' if drop else 'fused'
        total = sum(e.self_cpu_time_total for e in events) / 1e3
        print(f'\n--- AVSlowFast training step, {label} (total self CPU '
              f'{total:.0f} ms); forward time per part:')
        for e in sorted(events, key=lambda e: -e.cpu_time_total):
            if e.key.startswith('## '):
                print(f'  {e.key[3:]:22s} {e.cpu_time_total / 1e3:9.1f} ms')
        print(events.table(sort_by='self_cpu_time_total', row_limit=12))
    for h in handles:
        h.remove()
    sf.train()
    optim = torch.optim.SGD(sf.parameters(), lr=1e-4)
    train_step(sf, optim, None, inputs, None)
    with torch_profile(activities=activities) as prof:
        train_step(sf, optim, None, inputs, None)
    print('\n--- stock SlowFast training step')
    print(prof.key_averages().table(sort_by='self_cpu_time_total',
                                    row_limit=12))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--dtypes', nargs='+', choices=sorted(DTYPES),
                        default=None,
                        help='default: fp32 on CPU, fp32 fp16 bf16 on CUDA')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--crop', type=int, default=224)
    parser.add_argument('--test-size', type=int, default=256)
    parser.add_argument('--test-clips', type=int, default=None,
                        help='default: 10 on CUDA, 2 on CPU')
    parser.add_argument('--test-crops', type=int, default=3)
    parser.add_argument('--channels-last', action='store_true',
                        help='channels_last_3d inputs and weights (CUDA)')
    parser.add_argument('--no-flops', action='store_true')
    parser.add_argument('--profile', action='store_true',
                        help='print where the time of a step goes')
    parser.add_argument('--out', default=None,
                        help='JSON (default benchmarks/results/'
                        'speed_<device>.json)')
    args = parser.parse_args(argv)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    if args.test_clips is None:
        args.test_clips = 10 if device.type == 'cuda' else 2
    dtypes = args.dtypes or (['fp32', 'fp16', 'bf16']
                             if device.type == 'cuda' else ['fp32'])
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    av, sf, p_drop = build_models(device)
    if args.channels_last and device.type == 'cuda':
        av.to(memory_format=torch.channels_last_3d)
        sf.to(memory_format=torch.channels_last_3d)
    if args.profile:
        profile(args, av, sf, device)
        return 0
    flops = None if args.no_flops else flop_ratios(args, av, sf, p_drop,
                                                   device)
    results = []
    for name in dtypes:
        results += summarise(run_dtype(args, av, sf, p_drop, device, name),
                             flops, name, args)
    print_table(results, args, device)
    out = args.out or osp.join(REPO, 'benchmarks', 'results',
                               f'speed_{device.type}.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(dict(
            device=device_name(device), torch=torch.__version__,
            settings=dict(batch=args.batch, crop=args.crop,
                          test_views=[args.test_clips, args.test_crops],
                          test_size=args.test_size, rounds=args.rounds,
                          drop_pathway=p_drop,
                          channels_last=args.channels_last),
            command=' '.join(['python benchmarks/speed.py'] +
                             (argv if argv is not None else sys.argv[1:])),
            rows=results), f, indent=2)
    print(f'written {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
