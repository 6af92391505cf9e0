# never used by the TVM-FFI builder
