;; The byte floor's WASM (bench/byte-floor/worker.mjs): `echo` copies `len`
;; bytes from `src` to `dst`, byte by byte, and returns `len`. Compiled to
;; echo.wasm by byteFloorOptions in bench/lib/capture.mjs (binaryen, from npm).
(module
  (memory (export "memory") 4)
  (func (export "echo") (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (local.get $dst) (local.get $i)) (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $len)))
