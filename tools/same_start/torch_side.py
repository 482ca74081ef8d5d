#!/usr/bin/python3
"""resnet_small's first epoch in PyTorch from a start both sides share (tools/same_start/run.sh).

Builds cnn_torch.py's --net resnet and initializes it as cnn_torch.py does for SEED (He normal from numpy's
default_rng(SEED), zero biases); writes its parameters in torch's order, each as float32 in Backprop's layout (a fully
connected weight transposed to (inputs, outputs)), to OUT/init.f32, and the epoch's permutation (default_rng(SEED + 1),
or the one in ORDER, int32) to OUT/order.i32; then trains one epoch of batches of 100 with torch.optim.Adam (lr 0.001)
and prints one JSON line: each step's loss and the test accuracy after the epoch.

  /usr/bin/python3 torch_side.py PEERS_DIR OUT SEED [ORDER]
"""
import json
import os
import sys

peers, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
order = sys.argv[4] if len(sys.argv) > 4 else None
sys.argv = ["cnn_torch.py", "--net", "resnet", "--threads", "2"]
sys.path.insert(0, peers)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
import cnn_torch as ct  # noqa: E402

torch.set_num_threads(2)
xtr, ytr, xte, yte = ct.load_fashion_mnist("/usr/share/datasets/fashion-mnist")
xtr, xte = (torch.from_numpy(a.reshape(-1, 1, 28, 28)) for a in (xtr, xte))
ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
model = ct.build("resnet")
rng = np.random.default_rng(seed)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.copy_(torch.from_numpy((rng.standard_normal(tuple(m.weight.shape)) * np.sqrt(2.0 / fan_in))
                                            .astype(np.float32)))
            m.bias.zero_()
parts = [(p.detach().numpy().T if p.dim() == 2 else p.detach().numpy()).astype(np.float32).ravel()
         for p in model.parameters()]
np.concatenate(parts).tofile(os.path.join(out, "init.f32"))
perm = np.fromfile(order, dtype=np.int32) if order else np.random.default_rng(seed + 1).permutation(xtr.shape[0])
perm.astype(np.int32).tofile(os.path.join(out, "order.i32"))
opt = torch.optim.Adam(model.parameters(), lr=0.001)
loss_fn = nn.CrossEntropyLoss()
losses = []
model.train()
for i in range(0, len(perm), 100):
    idx = torch.from_numpy(perm[i:i + 100].astype(np.int64))
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xtr[idx]), ytr[idx])
    loss.backward()
    opt.step()
    losses.append(loss.item())
model.eval()
with torch.no_grad():
    acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, 10000, 1000)) / 10000
print(json.dumps(dict(losses=losses, test_accuracy=acc)))
