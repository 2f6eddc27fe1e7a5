  // ---- semembed additions (scripts/faiss-node/semembed-ext.cc, inserted by patch-source.mjs) ----
  // Typed-array entry points: the upstream methods take and return JS number[] arrays, which costs
  // more than the search itself for large galleries (10^8 elements for a full 10k x 10k ranking).

  static bool semembedCheckF32(Napi::Env env, const Napi::Value &v, size_t d, const char *what)
  {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    {
      Napi::TypeError::New(env, std::string(what) + " must be a Float32Array.").ThrowAsJavaScriptException();
      return false;
    }
    if (d == 0 || v.As<Napi::Float32Array>().ElementLength() % d != 0)
    {
      Napi::Error::New(env, std::string(what) + ": length is not a multiple of the dimension.").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  // addFloat32(x) / trainFloat32(x): x (n * d floats) checked, then `apply(n, x)` (index_->add or train) with
  // FAISS's errors thrown to JS.
  template <typename Apply>
  Napi::Value semembedWithVectors(const Napi::CallbackInfo &info, const char *what, Apply apply)
  {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !semembedCheckF32(env, info[0], index_->d, what))
      return env.Undefined();
    auto x = info[0].As<Napi::Float32Array>();
    try
    {
      apply(x.ElementLength() / index_->d, x.Data());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value addFloat32(const Napi::CallbackInfo &info)
  {
    return semembedWithVectors(info, "addFloat32(x)", [this](idx_t n, const float *x) { index_->add(n, x); });
  }

  Napi::Value trainFloat32(const Napi::CallbackInfo &info)
  {
    return semembedWithVectors(info, "trainFloat32(x)", [this](idx_t n, const float *x) { index_->train(n, x); });
  }

  // searchFloat32(xq: Float32Array, k) -> { distances: Float32Array, labels: Int32Array } (nq*k each)
  Napi::Value searchFloat32(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[1].IsNumber())
    {
      Napi::TypeError::New(env, "searchFloat32(xq, k) expects a Float32Array and a number.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!semembedCheckF32(env, info[0], index_->d, "searchFloat32(xq)"))
      return env.Undefined();
    const int64_t k = info[1].As<Napi::Number>().Int64Value();
    if (k < 1 || k > index_->ntotal)
    {
      Napi::Error::New(env, "searchFloat32: k must be in 1.." + std::to_string(index_->ntotal) + ".").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto xq = info[0].As<Napi::Float32Array>();
    const int64_t nq = xq.ElementLength() / index_->d;
    auto distances = Napi::Float32Array::New(env, nq * k);
    std::vector<idx_t> I(nq * k);
    try
    {
      index_->search(nq, xq.Data(), k, distances.Data(), I.data());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto labels = Napi::Int32Array::New(env, nq * k);
    for (int64_t i = 0; i < nq * k; i++)
      labels[i] = static_cast<int32_t>(I[i]);
    Napi::Object results = Napi::Object::New(env);
    results.Set("distances", distances);
    results.Set("labels", labels);
    return results;
  }

  // distanceRows(xq: Float32Array[, out: Float32Array[, rowsPerCall]]) -> Float32Array (nq * ntotal, row-major;
  // `out` or a new array): every distance of each query to the stored vectors of a flat index (squared L2 for L2
  // indices, the inner product for IP indices), computed by BLAS; used where whole rankings are needed (AP, AHP
  // over all items). With rowsPerCall, the rows are cut from the first one into calls of rowsPerCall rows, each a
  // single-threaded BLAS call (spread over OpenMP threads): an element's bits then depend only on its call, not on
  // the CPU's BLAS kernel or thread count, and @semembed/retrieval's native kernel makes the same calls
  // (packages/retrieval/src/blas-calls.ts). Without it: one call for all rows on OpenBLAS's threads.
  Napi::Value distanceRows(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || info.Length() > 3 || !semembedCheckF32(env, info[0], index_->d, "distanceRows(xq)"))
      return env.Undefined();
    auto *flat = dynamic_cast<faiss::IndexFlat *>(index_.get());
    if (flat == nullptr)
    {
      Napi::Error::New(env, "distanceRows: only flat (exact) indices store their vectors uncompressed.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto xq = info[0].As<Napi::Float32Array>();
    const int64_t d = index_->d, nq = xq.ElementLength() / d, nb = index_->ntotal;
    Napi::Float32Array out;
    if (info.Length() >= 2 && !info[1].IsUndefined())
    {
      // a reused output buffer spares V8 zero-filling fresh memory for every batch
      if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
          info[1].As<Napi::Float32Array>().ElementLength() < static_cast<size_t>(nq * nb))
      {
        Napi::TypeError::New(env, "distanceRows(xq, out): out must be a Float32Array of at least nq * ntotal elements.").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      out = info[1].As<Napi::Float32Array>();
    }
    else
      out = Napi::Float32Array::New(env, nq * nb);
    int64_t rowsPerCall = nq;
    if (info.Length() == 3)
    {
      if (!info[2].IsNumber() || info[2].As<Napi::Number>().Int64Value() < 1)
      {
        Napi::TypeError::New(env, "distanceRows(xq, out, rowsPerCall): rowsPerCall must be a positive integer.").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      rowsPerCall = info[2].As<Napi::Number>().Int64Value();
    }
    if (nq == 0 || nb == 0)
      return out;
    const bool l2 = index_->metric_type == faiss::METRIC_L2;
    if (!l2 && index_->metric_type != faiss::METRIC_INNER_PRODUCT)
    {
      Napi::Error::New(env, "distanceRows: only L2 and inner-product indices are supported.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const float *xb = flat->get_xb();
    float *dis = out.Data();
    const float *q = xq.Data();
    // rows [r0, r0 + r): FAISS's pairwise_L2sqr, or out^T (nb x r, column-major) = xb (d x nb)^T * xq (d x r)
    auto call = [&](int64_t r0, int64_t r) {
      if (l2)
        faiss::pairwise_L2sqr(d, r, q + r0 * d, nb, xb, dis + r0 * nb);
      else
      {
        int m = static_cast<int>(nb), n = static_cast<int>(r), kk = static_cast<int>(d);
        float one = 1.0f, zero = 0.0f;
        sgemm_("Transpose", "Not transpose", &m, &n, &kk, &one, xb, &kk, q + r0 * d, &kk, &zero, dis + r0 * nb, &m);
      }
    };
    if (info.Length() < 3)
    {
      call(0, nq);
      return out;
    }
    const int64_t calls = (nq + rowsPerCall - 1) / rowsPerCall;
    const int blasThreads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t c = 0; c < calls; c++)
      call(c * rowsPerCall, std::min(rowsPerCall, nq - c * rowsPerCall));
    openblas_set_num_threads(blasThreads);
    return out;
  }

  // setParameter(name, value): FAISS ParameterSpace (nprobe for IVF, efSearch for HNSW, ...)
  Napi::Value setParameter(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsString() || !info[1].IsNumber())
    {
      Napi::TypeError::New(env, "setParameter(name, value) expects a string and a number.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    try
    {
      faiss::ParameterSpace().set_index_parameter(index_.get(), info[0].As<Napi::String>().Utf8Value(),
                                                  info[1].As<Napi::Number>().DoubleValue());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value metricType(const Napi::CallbackInfo &info)
  {
    return Napi::Number::New(info.Env(), static_cast<int>(index_->metric_type));
  }
  // ---- end of semembed additions ----

