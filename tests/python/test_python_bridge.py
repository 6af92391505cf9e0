"""The Python bridge's loaders without a GPU (run by ctest, label unit).

src/engine/python_bridge.py is imported as a module; a stand-in `tvm_ffi` module records what
the bridge does with an official CUDA solution's library (--call-from python): the library
loaded with tvm_ffi.load_module, the export looked up by the entry point's symbol, every call
made inside tvm_ffi.use_torch_stream(), positionally, outputs last (destination-passing).
"""
import contextlib
import importlib.util
import pathlib
import sys
import tempfile
import types
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_bridge():
    spec = importlib.util.spec_from_file_location("python_bridge",
                                                  ROOT / "src" / "engine" / "python_bridge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeTvmFfi(types.ModuleType):
    def __init__(self, exports):
        super().__init__("tvm_ffi")
        self.exports = exports
        self.loaded = []
        self.events = []

    def load_module(self, path):
        self.loaded.append(path)
        fake = self

        class Module:
            def __getitem__(self, name):
                if name not in fake.exports:
                    raise AttributeError(name)
                return fake.exports[name]

        return Module()

    @contextlib.contextmanager
    def use_torch_stream(self):
        self.events.append("enter")
        yield
        self.events.append("exit")


class LoadLibraryTest(unittest.TestCase):
    def setUp(self):
        self.bridge_module = load_bridge()
        self.cache = tempfile.TemporaryDirectory()
        self.bridge = self.bridge_module.Bridge(self.cache.name)
        self.saved = sys.modules.get("tvm_ffi")

    def tearDown(self):
        if self.saved is None:
            sys.modules.pop("tvm_ffi", None)
        else:
            sys.modules["tvm_ffi"] = self.saved
        self.cache.cleanup()

    def request(self, **extra):
        req = {"op": "load", "name": "sol", "language": "tvm-ffi", "library": "/x/lib.so",
               "entry_point": "run", "dps": True, "sources": [], "outputs": ["out"],
               "output_dtypes": ["float32"]}
        req.update(extra)
        return req

    def test_library_is_loaded_and_called_destination_passing_on_torchs_stream(self):
        calls = []
        fake = FakeTvmFfi({"run": lambda *args: calls.append((list(fake.events), args))})
        sys.modules["tvm_ffi"] = fake
        reply = self.bridge.handle(self.request())
        self.assertEqual(fake.loaded, ["/x/lib.so"])
        loaded = self.bridge.loaded[reply["id"]]
        self.assertTrue(loaded.dps)
        loaded.fn("a", 2, "out")
        self.assertEqual(calls, [(["enter"], ("a", 2, "out"))])
        self.assertEqual(fake.events, ["enter", "exit"])

    def test_a_missing_export_names_the_library_and_the_symbol(self):
        sys.modules["tvm_ffi"] = FakeTvmFfi({})
        with self.assertRaises(self.bridge_module.BridgeError) as e:
            self.bridge.handle(self.request(entry_point="kernel_main"))
        self.assertIn("/x/lib.so exports no TVM-FFI function 'kernel_main'", str(e.exception))

    def test_without_apache_tvm_ffi_the_error_says_what_to_install(self):
        sys.modules["tvm_ffi"] = None  # makes `import tvm_ffi` raise ImportError
        with self.assertRaises(self.bridge_module.BridgeError) as e:
            self.bridge.handle(self.request())
        self.assertIn("needs apache-tvm-ffi in", str(e.exception))

    def test_other_languages_are_refused(self):
        with self.assertRaises(self.bridge_module.BridgeError) as e:
            self.bridge.handle(self.request(language="cuda"))
        self.assertIn("not cuda", str(e.exception))


class FakeCupti:
    """Activity records as CUPTI would deliver them, on a fake clock: a call makes one runtime
    API record and, per kernel, a kernel record that starts after the launch; the flush buffer's
    memset is launched before the window opens. Records reach the registered callback only from
    activity_flush_all, or when the (fake) buffer of `capacity` records is full."""

    class ActivityKind:
        RUNTIME, DRIVER, CONCURRENT_KERNEL, MEMCPY, MEMSET = range(5)

    class Record:
        def __init__(self, kind, start, end=0, correlation_id=0, name="", nbytes=0):
            self.kind, self.start, self.end = kind, start, end
            self.correlation_id, self.name, self.bytes, self.value = correlation_id, name, nbytes, 0

    def __init__(self, kernels_per_call):
        self.clock = 1000
        self.next_id = 1
        self.pending = []
        self.kernels_per_call = kernels_per_call
        self.flushes_at = []  # the clock at every activity_flush_all
        self.buffer_bytes = None

    def get_timestamp(self):
        self.clock += 10
        return self.clock

    def activity_enable(self, kind):
        pass

    def activity_disable(self, kind):
        pass

    def finalize(self):
        pass

    def activity_register_callbacks(self, requested, completed):
        self.buffer_bytes = requested()[0]
        self.completed = completed

    def activity_flush_all(self, flag):
        self.flushes_at.append(self.clock)
        if self.pending:
            self.completed(self.pending)
            self.pending = []

    def launch(self, name, gpu_ns):
        kind = self.ActivityKind
        self.clock += 5
        cid = self.next_id
        self.next_id += 1
        self.pending.append(self.Record(kind.RUNTIME, self.clock, correlation_id=cid))
        start = self.clock + 3
        if name == "memset":
            self.pending.append(self.Record(kind.MEMSET, start, start + gpu_ns, cid, nbytes=64))
        else:
            self.pending.append(self.Record(kind.CONCURRENT_KERNEL, start, start + gpu_ns, cid,
                                            name))
        self.clock += 2

    def call(self):
        for i in range(self.kernels_per_call):
            self.launch(f"k{i}", 100)


class CuptiSpanTest(unittest.TestCase):
    def setUp(self):
        self.bridge_module = load_bridge()
        self.torch = types.SimpleNamespace(cuda=types.SimpleNamespace(synchronize=lambda: None))

    def spans(self, cupti, iterations=3):
        flush = types.SimpleNamespace(zero_=lambda: cupti.launch("memset", 1000))
        return self.bridge_module._cupti_spans(cupti, self.torch, flush, cupti.call, iterations)

    def test_a_call_spans_its_own_kernels_only_and_not_the_flush(self):
        cupti = FakeCupti(kernels_per_call=3)
        samples, kernels = self.spans(cupti)
        # Three launches 7 clock units apart, each kernel 100 long: first start to last end.
        self.assertEqual(samples, [(2 * 7 + 100) / 1e6] * 3)
        self.assertEqual(kernels, ["k0", "k1", "k2"])

    def test_buffers_are_flushed_after_each_call_outside_its_window(self):
        # A buffer handed to the Python callback inside a timed call would stall its launches
        # (the GIL): every call's records must be delivered after the call, before the next.
        cupti = FakeCupti(kernels_per_call=2)
        self.spans(cupti, iterations=4)
        self.assertGreaterEqual(len(cupti.flushes_at), 4)
        self.assertGreaterEqual(cupti.buffer_bytes, 64 * 1024 * 1024)

    def test_changing_kernel_sets_are_refused_as_officially(self):
        cupti = FakeCupti(kernels_per_call=2)
        calls = iter(range(100))

        def call():
            cupti.launch("a" if next(calls) % 2 else "b", 100)

        cupti.call = call
        with self.assertRaises(self.bridge_module.BridgeError) as e:
            self.spans(cupti)
        self.assertIn("Inconsistent kernel names", str(e.exception))


class FakeTorch:
    """What _time uses of torch: the L2 size, a flush buffer, synchronize, CUDA events (each
    event pair measures 2.5 ms)."""

    def __init__(self):
        props = types.SimpleNamespace(L2_cache_size=1 << 20)

        class Event:
            def __init__(self, enable_timing):
                pass

            def record(self):
                pass

            def elapsed_time(self, end):
                return 2.5

        self.int8 = "int8"
        self.cuda = types.SimpleNamespace(synchronize=lambda: None, Event=Event,
                                          get_device_properties=lambda i: props)

    def empty(self, n, dtype, device):
        return types.SimpleNamespace(zero_=lambda: None)


class TimerChoiceTest(unittest.TestCase):
    """Code that launches more than the bridge's limit per call is timed with CUDA events (CUPTI
    from Python slows such host-bound code); code that launches a few kernels with CUPTI."""

    def time(self, kernels_per_call):
        module = load_bridge()
        cupti = FakeCupti(kernels_per_call)
        module._torch = FakeTorch
        module._cupti_version = lambda: "13.0.1"
        saved = sys.modules.get("cupti")
        sys.modules["cupti"] = types.SimpleNamespace(cupti=cupti)
        try:
            with tempfile.TemporaryDirectory() as cache:
                bridge = module.Bridge(cache)
                bridge._invoke = lambda loaded, tensors: cupti.call()
                return bridge._time(None, [], 2, 3, True)
        finally:
            if saved is None:
                sys.modules.pop("cupti", None)
            else:
                sys.modules["cupti"] = saved

    def test_a_few_kernels_are_timed_by_cupti(self):
        r = self.time(3)
        self.assertEqual(r["timer"], "cupti")
        self.assertEqual(len(r["samples_ms"]), 3)

    def test_thousands_of_launches_are_timed_by_events_and_say_why(self):
        r = self.time(1000)
        self.assertEqual(r["timer"], "cuda-events")
        self.assertEqual(r["samples_ms"], [2.5] * 3)
        self.assertIn("over 256 kernels, copies and memsets per call (1000 here)", r["fallback"])


if __name__ == "__main__":
    unittest.main()
