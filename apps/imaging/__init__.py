"""Policy-gradient noise masks (a Beta policy) that regularise a medical image classifier
(Yavuz & Yang, arXiv 2406.14568), issue 25.

Built so far: ``data`` (MedMNIST npz sets pooled with sources; RadImageNet / plain image-folder
trees), ``datasets`` (MONAI transforms and datasets, the augmentation baseline), ``models`` (timm
classifiers by name, small-image stem), ``masks`` (the mask policy), ``estimators`` (textbook and
published policy-gradient losses) and ``metrics``. The pretrain / fine-tune pipeline, the CLI and
the bench follow.
"""
