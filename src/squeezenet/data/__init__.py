"""Datasets: ImageNet-layout image folders and Fashion-MNIST, robust to bad images."""
