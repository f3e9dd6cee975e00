"""Shared, tested plumbing for the course "Explaining image classifiers with SHAP".

Modules
-------
config        profile/budget, folders, offline mode, seeds, device
report        what a run uses (``describe()``: profile, device, versions, data), quiet TensorFlow
registry      every remote file: official URL, checksum, licence
assets        find / verify / download registry files (pre-loaded folders, cache, network)
data          MNIST, Fashion-MNIST, ImageNet-like photos and class index as NumPy arrays
layouts       NCHW <-> NHWC, SHAP output layouts, loud layout checks
torch_compat  the guarded ``import_torchvision()``
explain       additivity against the gap, DeepExplainer pre-flight check, layer maps
deep_ready    torch.fx rewrite of a PyTorch model into a DeepExplainer-ready copy, with a report
layers        split a PyTorch model at a layer (head, tail): explain a layer in its own space
models        the chapters' small PyTorch CNN and helpers around models
trust         sanity checks, rank correlation, SSIM, deletion/insertion curves, decoys
measure       time and peak memory of a call
weights       ImageNet weights (VGG19, ResNet18) with checksums and a visible fallback
plotting      image grids, ``shap.image_plot`` wrapper, training curves
training      PyTorch and Keras training loops with one History type

Heavy frameworks (torch, TensorFlow, shap) are imported only inside the functions that need them.
"""

__version__ = "0.1.0"
