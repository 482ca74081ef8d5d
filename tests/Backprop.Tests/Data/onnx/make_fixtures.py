#!/usr/bin/python3
"""Writes the PyTorch-exported ONNX fixtures and what PyTorch computes for them (Debian's python3-torch).

For each network and dtype: NAME-DTYPE.onnx (torch.onnx.export, opset 17, input x with a dynamic batch, output logits)
and NAME-DTYPE.json with a batch x, labels t, PyTorch's logits, and the gradients of the mean softmax cross-entropy
with respect to x and every parameter (autograd), the parameters named as Backprop names them after import
(layers.I.W in (inputs, outputs) layout for a Linear). Run from this folder: /usr/bin/python3 make_fixtures.py
"""
import json

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)


def mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 7), nn.Sigmoid(), nn.Linear(7, 7), nn.Tanh(),
                         nn.Linear(7, 6), nn.LeakyReLU(0.2), nn.Linear(6, 6), nn.ELU(0.7), nn.Linear(6, 5), nn.GELU(),
                         nn.Linear(5, 5), nn.SiLU(), nn.Linear(5, 5), nn.Softplus(), nn.Dropout(0.3),
                         nn.BatchNorm1d(5), nn.Linear(5, 4))


def cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
                         nn.Conv2d(4, 6, (3, 2), stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(6),   # (a BatchNorm2d right
                         # after a convolution is folded into it by torch.onnx.export)
                         nn.AvgPool2d(2, 2), nn.Flatten(), nn.Linear(6 * 1 * 1, 5))


class Block(nn.Module):
    """cnn_torch.py's basic block: conv 3×3 - BN - ReLU - conv 3×3 - BN, plus the identity or a strided 1×1 projection - BN,
    then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout)
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


class Branches(nn.Module):
    """Two convolution branches of x joined along the channels, a convolution, global average pooling, then affine -
    LayerNorm - affine."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 2, 1)
        self.c = nn.Conv2d(5, 4, 3, padding=1)
        self.fc1, self.norm, self.fc2 = nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 5)

    def forward(self, x):
        y = torch.cat([torch.relu(self.a(x)), self.b(x)], dim=1)
        y = torch.flatten(nn.functional.adaptive_avg_pool2d(torch.relu(self.c(y)), 1), 1)
        return self.fc2(self.norm(self.fc1(y)))


def resblock():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), Block(4, 4, 1), Block(4, 6, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))


def names(net):
    """Backprop's names for the torch parameters and buffers, in Backprop's layout (Dropout leaves no layer)."""
    out = []
    index = 0
    if not isinstance(net, nn.Sequential) or any(isinstance(m, Block) for m in net):
        # a graph: its last affine layer's gradients (the imported convolutions carry the batch norms torch folds into them)
        last = [m for m in net.modules() if isinstance(m, nn.Linear)][-1]
        return [("last.W", last.weight, True), ("last.b", last.bias, False)]
    for module in net:
        if isinstance(module, nn.Dropout):
            continue
        if isinstance(module, nn.Linear):
            out += [(f"layers.{index}.W", module.weight, True), (f"layers.{index}.b", module.bias, False)]
        elif isinstance(module, nn.Conv2d):
            out += [(f"layers.{index}.W", module.weight, False), (f"layers.{index}.b", module.bias, False)]
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            out += [(f"layers.{index}.gamma", module.weight, False), (f"layers.{index}.beta", module.bias, False)]
        if not isinstance(module, nn.Flatten):
            index += 1
    return out


def write(name, make, shape, dtype):
    torch.manual_seed(1)
    net = make().to(dtype)
    # statistics away from their defaults, then inference mode (dropout off, running statistics)
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    net.eval()
    x = (torch.randn(*shape, dtype=dtype) * 2).requires_grad_(True)
    t = torch.arange(shape[0]) % 4
    torch.onnx.export(net, (x,), f"{name}-{str(dtype)[6:]}.onnx", input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
    logits = net(x)
    loss = nn.functional.cross_entropy(logits, t)
    loss.backward()
    grads = {}
    for key, p, transpose in names(net):
        g = p.grad.detach().numpy()
        grads[key] = (g.T if transpose else g).ravel().tolist()
    out = {"torch": torch.__version__, "x": x.detach().numpy().ravel().tolist(), "x_shape": list(shape),
           "t": t.tolist(), "logits": logits.detach().numpy().ravel().tolist(), "loss": loss.item(),
           "dx": x.grad.numpy().ravel().tolist(), "grads": grads}
    with open(f"{name}-{str(dtype)[6:]}.json", "w") as f:
        json.dump(out, f)


for dtype in (torch.float32, torch.float64):
    write("mlp", mlp, (9, 6), dtype)
    write("cnn", cnn, (7, 2, 9, 8), dtype)
    write("resblock", resblock, (3, 2, 7, 6), dtype)
    write("branches", Branches, (4, 2, 5, 6), dtype)
