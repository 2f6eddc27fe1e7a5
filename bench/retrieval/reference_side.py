# Side-by-side baseline, same data and machine: the reference's ranking step (numpy squared-L2 via
# |a|^2+|b|^2-2ab in float32, then a full argsort per row, as pairwise_retrieval does) and a FAISS (python3-faiss)
# exact top-251 search. Run with Debian's /usr/bin/python3.  usage: reference_side.py feat.f32 n
import sys, time
import numpy as np
try:
    import faiss  # python3-faiss; optional
except ImportError:
    faiss = None

n = int(sys.argv[2]); d = 100
x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(n, d)
t = time.time(); c = time.process_time()
sq = (x ** 2).sum(1)
dist = sq[:, None] + sq[None, :] - 2 * (x @ x.T)
ranking = np.argsort(dist, axis=-1)
t_np = time.time() - t; c_np = time.process_time() - c
del dist, ranking
t_faiss = c_faiss = float('nan')
if faiss is not None:
    idx = faiss.IndexFlatL2(d); idx.add(x)
    t = time.time(); c = time.process_time(); idx.search(x, 251); t_faiss = time.time() - t; c_faiss = time.process_time() - c
print('{"numpy_pdist_argsort_seconds": %.3f, "numpy_cpu_seconds": %.3f, "python_faiss_top251_seconds": %.3f, "python_faiss_cpu_seconds": %.3f}' % (t_np, c_np, t_faiss, c_faiss))
