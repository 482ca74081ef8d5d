# A broken Relu: NaN where x <= 0 and infinite gradients. The grader must report each case, not lose the protocol.
import numpy as np
class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy(); out[self.mask] = np.nan
        return out
    def backward(self, dout):
        return dout * np.inf
