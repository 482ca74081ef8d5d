# Broken on purpose: the derivative from x instead of y.
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        out = sigmoid(x)
        self.out = out
        self.x = x
        return out

    def backward(self, dout):
        return dout * (1.0 - self.x) * self.x
