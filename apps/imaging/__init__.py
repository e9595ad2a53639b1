"""Policy-gradient noise masks (a Beta policy) that regularise a medical image classifier.

Planned (see the project's issues).
"""
