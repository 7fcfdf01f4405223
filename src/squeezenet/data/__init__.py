"""Datasets: ImageNet-layout image folders and Fashion-MNIST, robust to bad images."""

FASHION_MNIST_DATA = "fashion-mnist"  # the --data value naming Fashion-MNIST; any other value is a folder
