"""Policy-gradient noise masks (a Beta policy) that regularise a medical image classifier
(Yavuz & Yang, arXiv 2406.14568): pretrain with learned masks (the *heated* model), fine-tune
without them, evaluate; the policy is never needed at inference.

Public API::

    from pgsuite.apps.imaging import ImagingTrainConfig, evaluate, load_classifier, load_split, train
    summary = train(ImagingTrainConfig(data=folder, masks="policy", epochs=10))

Modules: ``data`` (MedMNIST npz sets pooled with sources; RadImageNet / plain image-folder
trees), ``datasets`` (MONAI transforms and cached datasets, the augmentation baseline),
``models`` (timm classifiers by name, small-image stem), ``masks`` (the mask policy),
``estimators`` (textbook and published policy-gradient losses), ``metrics``, ``train`` (pretrain
/ fine-tune on the core trainer), ``figures`` (the masks picture), ``bench`` and ``cli``.
"""

from pgsuite.core.exports import lazy_exports

__all__ = [
    "ImagingTrainConfig",
    "MaskPolicy",
    "classification_metrics",
    "evaluate",
    "load_classifier",
    "load_mask_policy",
    "load_split",
    "make_model",
    "train",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ImagingTrainConfig": ".train",
        "MaskPolicy": ".masks",
        "classification_metrics": ".metrics",
        "evaluate": ".train",
        "load_classifier": ".train",
        "load_mask_policy": ".train",
        "load_split": ".data",
        "make_model": ".models",
        "train": ".train",
    },
)
