#!/usr/bin/env python3
"""The PyTorch side of the device bench: the same kernel cases and the same
three training steps as wgrad's bench, in PyTorch eager on the same GPU.

The shapes, the labels and the model configs come from the JSON that
`wgrad-bench.mjs --json` (bench/peer/main.ts) writes, so the two sides run
the same work; the nets below mirror src/models/dcgan.ts, vae.ts and
unet.ts layer for layer, and the steps mirror src/train/*.ts (losses,
optimizers, the EMA, one loss readback per step).

Times are medians of rounds after warm-up, each round long enough to
average out launch jitter, with the device synchronized around it; the
first run is timed apart. float32 throughout, with TF32 off (wgrad and tfjs
compute in float32; TF32 would be a different precision, not a faster
float32).

    python3 torch_bench.py --wgrad wgrad-table.json --out torch.json [--device cuda] [--budget 100]
"""
import argparse
import json
import math
import random
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- timing

def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def measure(fn, device, rounds, min_round_s=0.02, warmup=3):
    """First-run ms, then the median ms per call over `rounds` rounds of enough calls to last min_round_s."""
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    first = (time.perf_counter() - t0) * 1e3
    for _ in range(warmup):
        fn()
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    probe = max(time.perf_counter() - t0, 1e-6)
    iters = max(1, min(100, math.ceil(min_round_s / probe)))
    per_call = []
    for _ in range(rounds):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        sync(device)
        per_call.append((time.perf_counter() - t0) * 1e3 / iters)
    per_call.sort()
    q1, q3 = per_call[len(per_call) // 4], per_call[(3 * len(per_call)) // 4]
    return {'ms': statistics.median(per_call), 'spread': q3 - q1, 'firstMs': first, 'iters': iters}


# ---------------------------------------------------------------- kernel cases

def conv_out(s):
    return (s['size'] + 2 * s['pad'] - s['k']) // s['stride'] + 1


def kernel_cases(shapes, device):
    """(kind, label, make) in the order wgrad's suite runs them; make() builds the inputs and returns the call."""
    cases = []
    for m in shapes['matmul']:
        def make(m=m):
            shape_a = [m['batch'], m['m'], m['k']] if m['batch'] > 1 else [m['m'], m['k']]
            shape_b = [m['batch'], m['k'], m['n']] if m['batch'] > 1 else [m['k'], m['n']]
            a = torch.randn(shape_a, device=device)
            b = torch.randn(shape_b, device=device) / math.sqrt(m['k'])
            return lambda: torch.matmul(a, b)
        cases.append(('matmul', m['label'], make))
    for s in shapes['conv']:
        def inputs(s=s):
            oh = conv_out(s)
            x = torch.randn(s['batch'], s['inC'], s['size'], s['size'], device=device)
            w = torch.randn(s['outC'], s['inC'], s['k'], s['k'], device=device) / math.sqrt(s['inC'] * s['k'] * s['k'])
            dy = torch.randn(s['batch'], s['outC'], oh, oh, device=device)
            return x, w, dy
        def forward(s=s, inputs=inputs):
            x, w, _ = inputs()
            return lambda: F.conv2d(x, w, stride=s['stride'], padding=s['pad'])
        # the input and weight gradients as autograd computes them: one convolution_backward each
        def backward(mask, s=s, inputs=inputs):
            x, w, dy = inputs()
            stride, pad = [s['stride']] * 2, [s['pad']] * 2
            return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, stride, pad, [1, 1], False, [0, 0], 1, mask)
        dgrad = lambda backward=backward: backward([True, False, False])
        wgrad = lambda backward=backward: backward([False, True, False])
        cases += [('conv2d', s['label'], forward), ('conv2d dgrad', s['label'], dgrad), ('conv2d wgrad', s['label'], wgrad)]
    for s in shapes['convT']:
        def make(s=s):
            x = torch.randn(s['batch'], s['inC'], s['size'], s['size'], device=device)
            w = torch.randn(s['inC'], s['outC'], s['k'], s['k'], device=device) / math.sqrt(s['inC'] * s['k'] * s['k'])
            return lambda: F.conv_transpose2d(x, w, stride=s['stride'], padding=s['pad'])
        cases.append(('convTranspose2d', s['label'], make))
    for b in shapes['batchnorm']:
        def make(b=b):
            n, c, h, w = b['shape']
            x = torch.randn(n, c, h, w, device=device, requires_grad=True)
            g = torch.randn(n, c, h, w, device=device)
            weight = torch.ones(c, device=device, requires_grad=True)
            bias = torch.zeros(c, device=device, requires_grad=True)
            rm, rv = torch.zeros(c, device=device), torch.ones(c, device=device)
            def run():
                y = F.batch_norm(x, rm, rv, weight, bias, training=True, momentum=0.1, eps=1e-5)
                return torch.autograd.grad((y * g).sum(), [x, weight, bias])
            return run
        cases.append(('batchnorm fwd+bwd', b['label'], make))
    return cases


# ---------------------------------------------------------------- DCGAN (src/models/dcgan.ts, src/train/dcgan.ts)

def dcgan_nets(c):
    stages = int(math.log2(c['imageSize'] // 4))
    width = c['generatorWidth'] * 2 ** (stages - 1)
    g = [nn.ConvTranspose2d(c['latent'], width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    for _ in range(1, stages):
        g += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU()]
        width //= 2
    g += [nn.ConvTranspose2d(width, c['channels'], 4, 2, 1, bias=False), nn.Tanh()]
    width = c['discriminatorWidth']
    d = [nn.Conv2d(c['channels'], width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
    for _ in range(1, stages):
        d += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2)]
        width *= 2
    d += [nn.Conv2d(width, 1, 4, 1, 0, bias=False)]
    G, D = nn.Sequential(*g), nn.Sequential(*d)
    for m in [*G.modules(), *D.modules()]:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
        if isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


def dcgan_step(c, device):
    recipe = (c.get('upsample', 'transposed'), c.get('discriminatorNorm', 'batch'), c.get('loss', 'bce'))
    if recipe != ('transposed', 'batch', 'bce'):
        raise ValueError(f"only the paper's DCGAN (transposed, batch, bce) is mirrored here, got {recipe}")
    batch, s, latent = c['batch'], c['imageSize'], c['latent']
    G, D = (net.to(device) for net in dcgan_nets(c))
    betas = tuple(c['betas'])
    opt_g = torch.optim.Adam(G.parameters(), lr=c['lr'], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=c.get('lrD') or c['lr'], betas=betas)
    real = torch.tanh(torch.randn(batch, c['channels'], s, s, device=device))
    ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)
    bce = F.binary_cross_entropy_with_logits

    def step():
        fake = G(torch.randn(batch, latent, 1, 1, device=device))
        real_logits = D(real).reshape(batch)
        fake_logits = D(fake.detach()).reshape(batch)
        loss_d = bce(real_logits, ones) + bce(fake_logits, zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # as wgrad's trainer: the G step skips D's weight gradients
        for p in D.parameters():
            p.requires_grad_(False)
        loss_g = bce(D(fake).reshape(batch), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for p in D.parameters():
            p.requires_grad_(True)
        # one readback for the four numbers
        return torch.stack([loss_d, loss_g, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()]).detach().cpu()
    return step


# ---------------------------------------------------------------- VAE (src/models/vae.ts, src/train/vae.ts)

class Vae(nn.Module):
    def __init__(self, c):
        super().__init__()
        n = int(math.log2(c['imageSize'] // 4))
        width, channels, latent = c['width'], c['channels'], c['latent']
        deepest = width * 2 ** (n - 1)
        flat = deepest * 16
        down = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = width
        for _ in range(1, n):
            down += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2)]
            ch *= 2
        down.append(nn.Flatten())
        self.encoder = nn.Sequential(*down)
        self.to_mean = nn.Linear(flat, latent)
        self.to_logvar = nn.Linear(flat, latent)
        up = [nn.Linear(latent, flat, bias=False), nn.Unflatten(1, (deepest, 4, 4)), nn.BatchNorm2d(deepest), nn.ReLU()]
        ch = deepest
        for _ in range(1, n):
            up += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU()]
            ch //= 2
        up.append(nn.ConvTranspose2d(width, channels, 4, 2, 1))
        self.decoder = nn.Sequential(*up)


def vae_step(c, device):
    batch, s = c['batch'], c['imageSize']
    model = Vae(c).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=c['lr'])
    images = torch.tanh(torch.randn(batch, c['channels'], s, s, device=device))
    pixels = c['channels'] * s * s

    def step():
        h = model.encoder(images)
        mean, logvar = model.to_mean(h), model.to_logvar(h)
        z = mean + torch.exp(logvar * 0.5) * torch.randn_like(mean)
        logits = model.decoder(z)
        if c['reconstruction'] == 'bce':
            recon = F.binary_cross_entropy_with_logits(logits, (images + 1) * 0.5) * pixels
        else:
            recon = F.mse_loss(torch.sigmoid(logits) * 2 - 1, images) * pixels
        kl = (mean.square() + logvar.exp() - logvar - 1).sum(1).mean() * 0.5
        loss = recon + kl * c['beta']
        opt.zero_grad()
        loss.backward()
        opt.step()
        return torch.stack([loss, recon, kl]).detach().cpu()
    return step


# ---------------------------------------------------------------- U-Net (src/models/unet.ts, src/models/diffusion.ts, src/train/diffusion.ts)

def groups_for(channels):
    g = max(1, min(32, channels // 4))
    while channels % g:
        g -= 1
    return g


def zero(module):
    nn.init.zeros_(module.weight)
    nn.init.zeros_(module.bias)
    return module


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups_for(cin), cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.embedding = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups_for(cout), cout, eps=1e-5)
        self.conv2 = zero(nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = None if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embedding(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(groups_for(c), c, eps=1e-5)
        self.query, self.key, self.value = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.projection = zero(nn.Conv2d(c, c, 1))

    def forward(self, x):
        n, c, height, width = x.shape
        h = self.norm(x)
        q, k, v = (m(h).reshape(n, c, height * width) for m in (self.query, self.key, self.value))
        weights = torch.softmax(q.transpose(1, 2).matmul(k) * (1 / math.sqrt(c)), dim=-1)
        attended = v.matmul(weights.transpose(1, 2)).reshape(n, c, height, width)
        return x + self.projection(attended)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode='nearest'))


def time_feature_size(c):
    return max(32, 2 * math.ceil(c['baseChannels'] / 2))


class UNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        base, mults, blocks = c['baseChannels'], c['channelMults'], c['resBlocks']
        emb = 4 * base
        self.time_mlp = nn.Sequential(nn.Linear(time_feature_size(c), emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label_embedding = nn.Embedding(c['classes'] + 1, emb) if c['classes'] > 0 else None
        self.conv_in = nn.Conv2d(c['channels'], base, 3, padding=1)
        skips, down, width = [base], [], base
        for level, mult in enumerate(mults):
            for _ in range(blocks):
                down.append(ResBlock(width, base * mult, emb))
                width = base * mult
                skips.append(width)
            if level < len(mults) - 1:
                down.append(Downsample(width))
                skips.append(width)
        self.down = nn.ModuleList(down)
        middle = [ResBlock(width, width, emb)] + ([SelfAttention(width)] if c['attention'] else []) + [ResBlock(width, width, emb)]
        self.middle = nn.ModuleList(middle)
        up = []
        for level in range(len(mults) - 1, -1, -1):
            for _ in range(blocks + 1):
                up.append(ResBlock(width + skips.pop(), base * mults[level], emb))
                width = base * mults[level]
            if level > 0:
                up.append(Upsample(width))
        self.up = nn.ModuleList(up)
        self.norm_out = nn.GroupNorm(groups_for(width), width, eps=1e-5)
        self.conv_out = zero(nn.Conv2d(width, c['channels'], 3, padding=1))

    def forward(self, x, time_features):
        emb = F.silu(self.time_mlp(time_features))
        h = self.conv_in(x)
        skips = [h]
        for block in self.down:
            h = block(h, emb) if isinstance(block, ResBlock) else block(h)
            skips.append(h)
        for block in self.middle:
            h = block(h, emb) if isinstance(block, ResBlock) else block(h)
        for block in self.up:
            h = block(torch.cat([h, skips.pop()], 1), emb) if isinstance(block, ResBlock) else block(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def alpha_bars(kind, timesteps):
    """src/models/diffusion.ts betaSchedule, then the running product of 1 − β."""
    betas = []
    if kind == 'linear':
        scale = 1000 / timesteps
        start, end = scale * 1e-4, scale * 0.02
        betas = [min(start + (end - start) * t / (timesteps - 1), 0.999) for t in range(timesteps)]
    else:
        s = 0.008
        f = lambda t: math.cos(((t / timesteps + s) / (1 + s)) * (math.pi / 2)) ** 2
        betas = [min(1 - f(t + 1) / f(t), 0.999) for t in range(timesteps)]
    out, product = [], 1.0
    for b in betas:
        product *= 1 - b
        out.append(product)
    return out


def timestep_features(t, size):
    """src/models/unet.ts timestepFeatures: [sin(t·f_k)…, cos(t·f_k)…], f_k = 10000^(−k/h), float64 on the CPU."""
    half = size // 2
    rows = []
    for ti in t:
        angles = [ti * math.exp(-math.log(10000) * k / half) for k in range(half)]
        rows.append([math.sin(a) for a in angles] + [math.cos(a) for a in angles])
    return rows


def unet_step(c, device):
    if c['classes'] != 0:
        raise ValueError(f"only the unconditional U-Net is mirrored here, got classes {c['classes']}")
    batch, s, T = c['batch'], c['imageSize'], c['timesteps']
    model = UNet(c).to(device)
    ema = UNet(c).to(device)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    params, averages = list(model.parameters()), list(ema.parameters())
    opt = torch.optim.Adam(params, lr=c['lr'])
    bars = alpha_bars(c['schedule'], T)
    features = time_feature_size(c)
    images = torch.tanh(torch.randn(batch, c['channels'], s, s, device=device))
    updates = [0]
    draws = random.Random(0)

    def step():
        t = [min(T - 1, int(draws.random() * T)) for _ in range(batch)]
        # per-example coefficients and the timestep features made on the CPU and uploaded, as wgrad does
        signal = torch.tensor([math.sqrt(bars[i]) for i in t], device=device).reshape(batch, 1, 1, 1)
        noise_level = torch.tensor([math.sqrt(1 - bars[i]) for i in t], device=device).reshape(batch, 1, 1, 1)
        time_in = torch.tensor(timestep_features(t, features), dtype=torch.float32, device=device)
        noise = torch.randn_like(images)
        loss = F.mse_loss(model(images * signal + noise * noise_level, time_in), noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        updates[0] += 1
        decay = min(c['emaDecay'], (1 + updates[0]) / (10 + updates[0]))
        with torch.no_grad():
            torch._foreach_mul_(averages, decay)
            torch._foreach_add_(averages, params, alpha=1 - decay)
        return loss.detach().cpu()
    return step


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--wgrad', required=True, help="the JSON wgrad's bench wrote (--json): shapes, labels, model configs")
    parser.add_argument('--out', required=True)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--budget', type=float, default=100, help='seconds: no new case starts after this')
    parser.add_argument('--filter', default='', help="parts of 'kind label', comma-separated, as wgrad's --filter")
    args = parser.parse_args()

    started = time.perf_counter()
    with open(args.wgrad) as f:
        wgrad = json.load(f)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'
    terms = [t.strip().lower() for t in args.filter.split(',') if t.strip()]
    matches = lambda text: not terms or any(t in text.lower() for t in terms)

    cases = kernel_cases(wgrad['shapes'], device)
    models = wgrad['models']
    cases += [
        ('training step', 'DCGAN', lambda: dcgan_step(models['dcgan'], device)),
        ('training step', 'VAE', lambda: vae_step(models['vae'], device)),
        ('training step', 'U-Net', lambda: unet_step(models['unet'], device)),
    ]
    out = {
        'device': name, 'torch': torch.__version__, 'cuda': torch.version.cuda, 'cudnn': torch.backends.cudnn.version(),
        'tf32': False, 'cudnnBenchmark': torch.backends.cudnn.benchmark, 'results': [], 'skipped': [], 'failed': [],
    }
    print(f'PyTorch {torch.__version__} on {name} (float32, TF32 off)', flush=True)

    def save():
        with open(args.out, 'w') as f:
            json.dump(out, f, indent=2)

    for kind, label, make in cases:
        if not matches(f'{kind} {label}'):
            continue
        if time.perf_counter() - started > args.budget:
            out['skipped'].append({'kind': kind, 'name': label})
            continue
        try:
            r = measure(make(), device, args.rounds)
        except Exception as error:  # a case that cannot run here is reported, the rest go on
            print(f'FAILED {kind} {label}: {error}', file=sys.stderr, flush=True)
            out['failed'].append({'kind': kind, 'name': label, 'error': str(error)})
            continue
        r.update(kind=kind, name=label)
        out['results'].append(r)
        print(f"{kind:<18} {label:<44} torch {r['ms']:9.3f} ms   first {r['firstMs']:8.1f} ms", flush=True)
        save()
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    save()
    if out['skipped']:
        print(f"budget of {args.budget:.0f} s spent: {len(out['skipped'])} cases not run", flush=True)
    return 1 if out['failed'] or not out['results'] else 0


if __name__ == '__main__':
    sys.exit(main())
