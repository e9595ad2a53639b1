"""The noise-mask policy of Yavuz & Yang ("Policy Gradient-Driven Noise Mask", arXiv 2406.14568).

A light trunk (timm, by name) maps each image to the Beta parameters of every cell of a
``grid x grid`` mask (the core's :class:`~pgsuite.core.distributions.BetaHead` with
``exp`` concentrations). As published, the parameters are mixed with a running mean of past
outputs: ``c = (1 - mix) c_image + mix c_running`` (``c_running`` an exponential moving average of
the batch means, updated in training, not differentiated). A mask is a Beta sample per cell (not
reparameterised: the gradient comes from the score function), upsampled bilinearly to the image
size, blurred with a Gaussian (kernel 13, sigma 6, reflected borders) and multiplied into the
image. Masks lie in [0, 1]. In evaluation the mask is the running-mean Beta's mean, the same for
every image (the published evaluation); the classifier never needs the policy at inference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Beta, Independent
from torchvision.transforms.functional import gaussian_blur

from pgsuite.apps.imaging.models import make_model
from pgsuite.core.distributions import BetaHead
from pgsuite.core.errors import ConfigError


def upsample_masks(
    cells: Tensor, grid: int, size: tuple[int, int], kernel: int = 13, sigma: float = 6.0
) -> Tensor:
    """``[B, grid * grid]`` cell values in [0, 1] -> ``[B, 1, H, W]`` masks: bilinear upsampling,
    then a Gaussian blur (reflected borders; the kernel shrinks to fit small images)."""
    masks = cells.reshape(-1, 1, grid, grid)
    masks = F.interpolate(masks, size=tuple(size), mode="bilinear", align_corners=False)
    kernel = min(kernel, 2 * (min(size) // 2) - 1)  # reflection needs kernel < size
    return gaussian_blur(masks, [kernel, kernel], [sigma, sigma]).clamp(0, 1)


class MaskPolicy(nn.Module):
    """``forward(images [B, 3, H, W]) -> Beta`` over the ``[B, grid * grid]`` mask cells.

    Args:
        trunk: timm model name of the feature trunk.
        grid: mask cells per side.
        mix: weight of the running mean in the mixed parameters.
        momentum: update rate of the running mean.
        kernel, sigma: the Gaussian blur of the upsampled mask.
        small_stem: the trunk's small-image stem (for 28x28 inputs).
    """

    def __init__(
        self,
        trunk: str = "resnet10t",
        grid: int = 7,
        mix: float = 0.1,
        momentum: float = 0.1,
        kernel: int = 13,
        sigma: float = 6.0,
        small_stem: bool = False,
    ) -> None:
        super().__init__()
        if grid < 1 or kernel < 1 or kernel % 2 == 0 or not sigma > 0:
            raise ConfigError("need grid >= 1, an odd kernel >= 1 and sigma > 0")
        if not (0 <= mix <= 1 and 0 < momentum <= 1):
            raise ConfigError("need 0 <= mix <= 1 and 0 < momentum <= 1")
        self.trunk = make_model(trunk, 0, small_stem)
        self.head = BetaHead(self.trunk.num_features, grid * grid, min_concentration=0.0,
                             positive="exp")  # fmt: skip
        self.grid, self.mix, self.momentum = grid, mix, momentum
        self.kernel, self.sigma = kernel, sigma
        self.register_buffer("running_alpha", torch.ones(grid * grid))
        self.register_buffer("running_beta", torch.ones(grid * grid))

    def forward(self, images: Tensor) -> Independent:
        alpha, beta = self.head.concentrations(self.trunk(images))
        if self.training:
            with torch.no_grad():
                rate = self.momentum
                self.running_alpha.lerp_(alpha.mean(0), rate)
                self.running_beta.lerp_(beta.mean(0), rate)
        alpha = (1 - self.mix) * alpha + self.mix * self.running_alpha
        beta = (1 - self.mix) * beta + self.mix * self.running_beta
        return Independent(Beta(alpha, beta), 1)

    def upsample(self, cells: Tensor, size: tuple[int, int]) -> Tensor:
        """``[B, grid * grid]`` cell values -> blurred ``[B, 1, H, W]`` masks in [0, 1]."""
        return upsample_masks(cells, self.grid, size, self.kernel, self.sigma)

    def sample_masks(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Training: a Beta sample per cell; returns the masks ``[B, 1, H, W]`` and the
        log-density of every sampled cell ``[B, grid * grid]`` (differentiable in the policy;
        :func:`~pgsuite.apps.imaging.estimators.mask_policy_loss` turns them into the loss)."""
        distribution = self(images)
        cells = distribution.sample().clamp(1e-6, 1 - 1e-6)
        return self.upsample(cells, images.shape[-2:]), distribution.base_dist.log_prob(cells)

    def mean_masks(self, images: Tensor) -> Tensor:
        """Evaluation: the running-mean Beta's mean, one mask for every image."""
        mean = self.running_alpha / (self.running_alpha + self.running_beta)
        return self.upsample(mean.expand(images.shape[0], -1), images.shape[-2:])
