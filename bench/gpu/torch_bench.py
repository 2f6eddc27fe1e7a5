"""PyTorch side of the GPU kit (bench/gpu/README.md): training and inference throughput of the same architectures
as packages/architectures (fashion-cnn, simple = Plain-11, resnet-110-wfc), on CUDA when there is one, else CPU.
Training: the trainer's setup (1 - <l2norm(out), target>, SGD momentum 0.9, L2 on kernels, clipnorm 10, batch 100,
BN in training mode), random data. Inference: eval mode, no_grad, fp32, batches 1/32/256, rotating 3 input sets.
Timed with CUDA events/synchronize after warm-up; medians. One JSON line per measurement on stdout.
  python3 torch_bench.py train|infer ARCH [--device cuda|cpu] [--steps 10] [--reps 3] [--batches 1,32,256]"""
import argparse, json, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_throughput import plain, ARCHS  # noqa: E402  (the CPU benchmark's Plain nets; copied into the kit)

SHAPES = {'fashion-cnn': (1, 28), 'simple': (3, 32), 'resnet-110-wfc': (3, 32)}


class Block(nn.Module):
    """smallResNet's block: conv-BN-relu-conv-BN, shortcut = avg-pool (stride 2) + zero channel padding, add, relu."""

    def __init__(self, fin, fout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(fin, fout, 3, stride, 1), nn.BatchNorm2d(fout, eps=1e-3, momentum=0.01)
        self.c2, self.b2 = nn.Conv2d(fout, fout, 3, 1, 1), nn.BatchNorm2d(fout, eps=1e-3, momentum=0.01)
        self.stride, self.pad = stride, fout - fin

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        s = F.avg_pool2d(x, self.stride) if self.stride > 1 else x
        if self.pad:
            s = F.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(y + s)


def small_resnet(n, filters, dim):
    layers = [nn.Conv2d(3, filters[0], 3, 1, 1), nn.BatchNorm2d(filters[0], eps=1e-3, momentum=0.01), nn.ReLU()]
    fin = filters[0]
    for i, f in enumerate(filters):
        for j in range(n):
            layers.append(Block(fin, f, 2 if (i > 0 and j == 0) else 1))
            fin = f
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(fin, dim)]
    return nn.Sequential(*layers)


def build(arch):
    if arch == 'resnet-110-wfc':
        return small_resnet(18, [32, 64, 128], 10)
    spec, ch, hw = ARCHS[arch]
    return plain(spec, ch, hw, 10)


def sync(dev):
    if dev == 'cuda':
        torch.cuda.synchronize()


def median(a):
    s = sorted(a)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def train(arch, dev, batch, steps, reps):
    torch.manual_seed(0)
    ch, hw = SHAPES[arch]
    model = build(arch).to(dev).train()
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 1e-3}, {'params': rest}], lr=0.01, momentum=0.9)
    xs = [torch.randn(batch, ch, hw, hw, device=dev) for _ in range(3)]
    t = F.one_hot(torch.randint(0, 10, (batch,)), 10).float().to(dev)

    def step(i):
        opt.zero_grad()
        out = F.normalize(model(xs[i % 3]), dim=-1)
        loss = (1 - (out * t).sum(-1)).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        return loss

    for i in range(3):
        step(i)
    sync(dev)
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for i in range(steps):
            loss = step(i)
        loss.item()  # the trainer reads its loss back too
        sync(dev)
        runs.append(batch * steps / (time.perf_counter() - t0))
    return {'arch': arch, 'device': dev, 'batch': batch, 'steps': steps, 'img_per_s': median(runs), 'runs': runs}


@torch.no_grad()
def infer(arch, dev, batches, seconds):
    torch.manual_seed(0)
    ch, hw = SHAPES[arch]
    model = build(arch).to(dev).eval()
    rows = []
    for b in batches:
        xs = [torch.randn(b, ch, hw, hw, device=dev) for _ in range(3)]
        for i in range(3):
            F.normalize(model(xs[i]), dim=-1).cpu()
        times, t_end = [], time.perf_counter() + seconds
        while len(times) < 5 or time.perf_counter() < t_end:
            t0 = time.perf_counter()
            F.normalize(model(xs[len(times) % 3]), dim=-1).cpu()  # results back on the host, as ORT returns them
            times.append(time.perf_counter() - t0)
        m = median(times)
        rows.append({'batch': b, 'runs': len(times), 'median_ms': m * 1000, 'img_per_s': b / m})
    return {'arch': arch, 'device': dev, 'rows': rows}


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=['train', 'infer'])
    ap.add_argument('arch', choices=sorted(SHAPES))
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--batch', type=int, default=100)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--batches', default='1,32,256')
    ap.add_argument('--seconds', type=float, default=2)
    ap.add_argument('--threads', type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    info = {'part': 'torch-' + a.what, 'torch': torch.__version__,
            'gpu': torch.cuda.get_device_name(0) if a.device == 'cuda' else None}
    if a.what == 'train':
        r = train(a.arch, a.device, a.batch, a.steps, a.reps)
    else:
        r = infer(a.arch, a.device, [int(x) for x in a.batches.split(',')], a.seconds)
    print(json.dumps({**info, **r}))
