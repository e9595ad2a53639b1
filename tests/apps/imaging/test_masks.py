"""Models by name with the small-image stem, and the mask policy: masks in [0, 1] of the image
size, the running mean, and its score-function gradient against a finite-difference answer."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Beta

from pgsuite.apps.imaging.estimators import mask_policy_loss
from pgsuite.apps.imaging.masks import MaskPolicy
from pgsuite.apps.imaging.models import make_model
from pgsuite.core.errors import ConfigError


@pytest.mark.parametrize("name", ["resnet10t", "resnet18"])
def test_small_stem_keeps_28x28_resolution_longer(name: str) -> None:
    images = torch.randn(2, 3, 28, 28)
    plain, small = make_model(name, 9), make_model(name, 9, small_stem=True)
    assert plain(images).shape == small(images).shape == (2, 9)
    assert small.forward_features(images).shape[-1] == 4 * plain.forward_features(images).shape[-1]


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown model 'vgg'"):
        make_model("vgg", 2)


def test_masks_are_bounded_image_sized_and_the_running_mean_moves() -> None:
    torch.manual_seed(0)
    policy = MaskPolicy(grid=4)
    images = torch.rand(5, 3, 28, 28)
    before = policy.running_alpha.clone()
    masks, log_prob = policy.sample_masks(images)
    assert masks.shape == (5, 1, 28, 28)
    assert masks.min() >= 0
    assert masks.max() <= 1
    assert log_prob.shape == (5, 16)
    assert log_prob.requires_grad
    assert not torch.equal(before, policy.running_alpha)
    policy.eval()
    fixed = policy.mean_masks(images)
    assert torch.equal(fixed[0], fixed[4])  # one mask for every image in evaluation
    assert policy.upsample(torch.ones(1, 16), (28, 28)).min() == pytest.approx(1.0)


def test_textbook_estimator_gradient_matches_finite_differences() -> None:
    """The textbook loss's gradient in a on Beta(a, b) samples with cost x^2 (the leave-one-out
    baseline included) is d/da E[x^2], E[x^2] = a (a + 1) / ((a + b)(a + b + 1)), for the cost
    objective (descending it lowers the expected cost) and minus that for the adversarial one."""
    torch.manual_seed(0)
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0)
    x = Beta(a, b).sample((200_000, 1))
    loss = mask_policy_loss("textbook", x[:, 0] ** 2, Beta(a, b).log_prob(x))
    (gradient,) = torch.autograd.grad(loss, a)
    adversarial = mask_policy_loss("textbook", x[:, 0] ** 2, Beta(a, b).log_prob(x), "adversarial")
    (opposite,) = torch.autograd.grad(adversarial, a)

    def second_moment(alpha: float) -> float:
        return alpha * (alpha + 1) / ((alpha + 3) * (alpha + 4))

    exact = (second_moment(2.0 + 1e-4) - second_moment(2.0 - 1e-4)) / 2e-4
    assert float(gradient) == pytest.approx(exact, rel=0.03)
    assert float(opposite) == pytest.approx(-float(gradient))


def test_published_estimator_is_the_official_product() -> None:
    costs = torch.tensor([1.0, 3.0], requires_grad=True)
    log_density = torch.log(torch.tensor([[0.5, 1.5], [1.0, 1.0]]))
    loss = mask_policy_loss("published", costs, log_density)
    assert float(loss) == pytest.approx(2.0 * torch.log(torch.tensor(2.0)).item())
    loss.backward()
    assert costs.grad is not None  # not detached: it also trains the classifier
    with pytest.raises(ConfigError, match="estimator"):
        mask_policy_loss("other", costs, log_density)
    with pytest.raises(ConfigError, match="adversarial objective needs the textbook"):
        mask_policy_loss("published", costs, log_density, "adversarial")
