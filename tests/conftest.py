"""Suite-wide settings. Tests run tiny models, which are fastest on one thread, and their
results must not depend on what else is running on the 2-core machine."""

import torch

torch.set_num_threads(1)
