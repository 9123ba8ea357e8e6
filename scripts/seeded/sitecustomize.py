# Imported by every Python started with this directory on PYTHONPATH (scripts/acceptance.sh
# puts it there for the renders): Piper samples noise inside its ONNX model, so each render
# of a Piper voice differs unless onnxruntime's generator is seeded. A fixed seed makes the
# acceptance calls the same on every run; how the detector fares across renders is measured
# apart (BENCHMARKS.md).
import os

seed = os.environ.get("TWOEARS_RENDER_SEED")
if seed:
    try:
        import onnxruntime
    except ImportError:
        pass
    else:
        onnxruntime.set_seed(int(seed))
