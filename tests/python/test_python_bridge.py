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


if __name__ == "__main__":
    unittest.main()
