"""Deep Compression (Han et al.) for SqueezeNet: prune, trained quantization, Huffman, .sqz."""
