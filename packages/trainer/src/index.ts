export * from "./backend.js"; export * from "./wasm-kernels.js"; export * from "./errors.js";
