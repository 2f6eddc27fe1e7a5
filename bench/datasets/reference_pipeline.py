#!/usr/bin/python3
"""Python side of bench/datasets/batching.mjs (run with Debian's /usr/bin/python3: numpy + scipy).

  make-cifar DIR N_TRAIN N_TEST   write full-size CIFAR-100 python (py2-style and py3 protocol 2) + binary files
  augment N H W C ZOOM            the reference's per-image training pipeline for in-memory data, as Keras 2.2's
                                  ImageDataGenerator runs it (random shift [+zoom] via scipy affine_transform
                                  order=1 mode='nearest', horizontal flip, featurewise standardisation), batch 100;
                                  prints images/s
  load-cifar DIR                  the reference's CIFAR-100 loading (pickle.load(encoding='bytes'), reshape, transpose);
                                  prints seconds
"""
import os, pickle, struct, sys, time
import numpy as np


def make_cifar(d, n_train, n_test):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'datasets', 'test', 'fixtures'))
    from make_fixtures import Py2Pickler
    rng = np.random.RandomState(0)
    for layout in ('py2', 'py3', 'bin'):
        os.makedirs(os.path.join(d, layout), exist_ok=True)
    for split, n in (('train', n_train), ('test', n_test)):
        data = rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)
        fine = rng.randint(0, 100, size=n)
        for layout in ('py2', 'py3'):
            k = (lambda s: s) if layout == 'py2' else (lambda s: s.encode('latin1'))
            obj = {k('filenames'): [k('f_%05d.png' % i) for i in range(n)], k('batch_label'): k(split), k('fine_labels'): fine.tolist(),
                   k('coarse_labels'): (fine // 5).tolist(), k('data'): data}
            with open(os.path.join(d, layout, split), 'wb') as f:
                (Py2Pickler(f, protocol=2).dump if layout == 'py2' else lambda o: pickle.dump(o, f, protocol=2))(obj)
        np.concatenate([(fine // 5).astype(np.uint8)[:, None], fine.astype(np.uint8)[:, None], data], axis=1).tofile(os.path.join(d, 'bin', split + '.bin'))


def augment(n, h, w, c, zoom):
    from scipy import ndimage
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(n, h, w, c)).astype(np.float32)
    mean = X.mean(axis=(0, 1, 2))
    std = X.std(axis=(0, 1, 2))
    t0 = time.perf_counter()
    for start in range(0, n, 100):
        batch = np.zeros((min(100, n - start), h, w, c), dtype=np.float32)
        for i in range(batch.shape[0]):
            x = X[start + i]
            tx = np.random.uniform(-0.15, 0.15) * h
            ty = np.random.uniform(-0.15, 0.15) * w
            m = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)
            if zoom:
                zx, zy = np.random.uniform(0.75, 1.25, 2)
                m = m.dot(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
            o = np.array([[1, 0, h / 2 + 0.5], [0, 1, w / 2 + 0.5], [0, 0, 1]])
            r = np.array([[1, 0, -(h / 2 + 0.5)], [0, 1, -(w / 2 + 0.5)], [0, 0, 1]])
            m = o.dot(m).dot(r)
            x = np.stack([ndimage.affine_transform(x[:, :, k], m[:2, :2], m[:2, 2], order=1, mode='nearest') for k in range(c)], axis=-1)
            if np.random.random() < 0.5:
                x = x[:, ::-1, :]
            x = (x - mean) / (std + 1e-6)
            batch[i] = x
    dt = time.perf_counter() - t0
    print('%.1f' % (n / dt))


def load_cifar(d):
    t0 = time.perf_counter()
    out = []
    for split in ('train', 'test'):
        with open(os.path.join(d, split), 'rb') as f:
            dump = pickle.load(f, encoding='bytes')
        X = dump[b'data'].astype(np.float32).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        out.append((X, dump[b'fine_labels']))
    print('%.3f' % (time.perf_counter() - t0))


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'make-cifar':
        make_cifar(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == 'augment':
        augment(*map(int, sys.argv[2:7]))
    elif cmd == 'load-cifar':
        load_cifar(sys.argv[2])
