"""Sample-quality metrics computed from feature vectors (any feature extractor).

    mu, sigma = fid.statistics(features)
    fid.frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    kid.kernel_distance(feats_a, feats_b)           # unbiased MMD^2, cubic polynomial kernel
    prdc.precision_recall(real_feats, fake_feats)   # k-NN manifolds (Kynkaenniemi et al. 2019)

The functions are plain numpy in float64 on the host: they run once per evaluation, on (N, d) features, and
float64 keeps the matrix square root honest. Distances measured in a feature space other than Inception-v3's must
not be called FID: jaxgan names its own FID-C and KID-C.
"""
from jaxgan.metrics import fid, kid, prdc

__all__ = ["fid", "kid", "prdc"]
