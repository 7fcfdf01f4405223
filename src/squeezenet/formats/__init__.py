"""Weight files and input conventions: torchvision .pth, our .safetensors and .sqz, the authors' Caffe release."""
