"""InstanceStream: a fixed list cycles in order, a random generator is reproducible from the seed,
and the stream's position survives a state_dict round trip."""

from __future__ import annotations

import pytest

from pgsuite.apps.scheduling.common.generators import InstanceStream
from pgsuite.core.errors import ConfigError


def test_a_fixed_list_is_cycled_in_order_and_restarts_with_seed() -> None:
    stream = InstanceStream(["a", "b", "c", "d"])
    assert not stream.is_random
    assert stream.draw(3) == ["a", "b", "c"]
    assert stream.draw(3) == ["d", "a", "b"]
    stream.seed(5)
    assert stream.draw(2) == ["a", "b"]


def test_a_random_generator_is_reproducible_from_the_seed() -> None:
    stream = InstanceStream(generate=lambda seed: seed)
    assert stream.is_random
    stream.seed(1)
    first = stream.draw(4)
    stream.seed(1)
    assert stream.draw(4) == first
    assert len(set(first)) == 4
    stream.seed(2)
    assert stream.draw(4) != first


@pytest.mark.parametrize("source", [{"instances": [1, 2, 3]}, {"generate": lambda seed: seed}])
def test_state_dict_continues_the_stream(source) -> None:
    stream = InstanceStream(**source)
    stream.seed(3)
    stream.draw(2)
    saved = stream.state_dict()
    expected = stream.draw(5)
    resumed = InstanceStream(**source)
    resumed.load_state_dict(saved)
    assert resumed.draw(5) == expected


def test_bad_streams_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="either"):
        InstanceStream()
    with pytest.raises(ConfigError, match="either"):
        InstanceStream([1], generate=lambda seed: seed)
    with pytest.raises(ConfigError, match="empty"):
        InstanceStream([])
    with pytest.raises(ConfigError, match="count"):
        InstanceStream([1]).draw(-1)
