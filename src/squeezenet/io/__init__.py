"""Weight formats: torchvision .pth, our .safetensors, the authors' Caffe release."""
