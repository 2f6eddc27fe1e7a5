"""PyTorch CPU baseline for bench/trainer/throughput.mjs: the same architectures (Plain-11 `simple`, `fashion-cnn`),
the same loss (1 - <l2norm(out), target>), SGD momentum 0.9 with L2 on kernels, random data, batch 100.
Prints one JSON line per measurement: {"arch", "threads", "img_per_s", "cpu_img_per_s"}."""
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def plain(spec, in_ch, hw, dim):
    layers, ch, flat = [], in_ch, False
    feat = None
    for f in spec:
        if f == 'mp':
            layers.append(nn.MaxPool2d(2)); hw //= 2
        elif f == 'ap':
            layers.append(nn.AvgPool2d(2)); hw //= 2
        elif f == 'gap':
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]; flat = True; feat = ch
        elif isinstance(f, str):
            if not flat:
                layers.append(nn.Flatten()); flat = True; feat = ch * hw * hw
            n = int(f[2:])
            # Keras order: Dense with ReLU, then BatchNormalization
            layers += [nn.Linear(feat, n), nn.ReLU(), nn.BatchNorm1d(n, eps=1e-3, momentum=0.01)]; feat = n
        else:
            layers += [nn.Conv2d(ch, f, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(f, eps=1e-3, momentum=0.01)]; ch = f
    if not flat:
        layers.append(nn.Flatten()); feat = ch * hw * hw
    layers.append(nn.Linear(feat, dim))
    return nn.Sequential(*layers)


ARCHS = {
    'simple': ([64, 64, 'ap', 128, 128, 128, 'ap', 256, 256, 256, 'ap', 512, 'gap', 'fc512'], 3, 32),
    'fashion-cnn': ([16, 'mp', 32, 'mp', 'fc128'], 1, 28),
}


def measure(arch, threads, batch, steps, warmup=2):
    torch.set_num_threads(threads)
    spec, ch, hw = ARCHS[arch]
    torch.manual_seed(0)
    model = plain(spec, ch, hw, 10).train()
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    rest = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 1e-3}, {'params': rest}], lr=0.01, momentum=0.9)
    x = torch.randn(batch, ch, hw, hw)
    t = F.one_hot(torch.randint(0, 10, (batch,)), 10).float()

    def step():
        opt.zero_grad()
        out = F.normalize(model(x), dim=-1)
        loss = (1 - (out * t).sum(-1)).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {'arch': arch, 'threads': threads, 'batch': batch, 'steps': steps,
            'img_per_s': batch * steps / wall, 'cpu_img_per_s': batch * steps / cpu, 'torch': torch.__version__}


if __name__ == '__main__':
    arch, threads, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(measure(arch, threads, batch, steps)))
