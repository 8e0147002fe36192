"""The coursework's original base code, the baseline shown beside the GAN: an MLP autoencoder (3072-512-32-512-3072,
L2 loss, Adam 1e-3, batch 16, 10 x 1000 steps) whose Pegasus is decode(0.9 z_horse + 0.1 z_bird) of CIFAR-10 test
images 13 and 160. Not a GAN config, so not in `jaxgan experiments`; run it as a module:

    python -m jaxgan.experiments.autoencoder_baseline --workdir runs/ae [--data-dir DIR]

The model, training and metrics live in `jaxgan.autoencoder`.
"""
