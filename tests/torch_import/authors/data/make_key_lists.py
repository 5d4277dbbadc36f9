"""Writes the authors' state_dict key lists (``key shape`` per line) used by the tests.

Written by reading the authors' module code, independently of neurosim's rebuilt models: each
function below lists, in registration order, the parameters and buffers that the authors'
module of the same name registers (torch's ``state_dict`` order: a module's own parameters,
then its buffers, then its children in assignment order), and ``spikeyolo_keys`` /
``emsyolo_keys`` apply the channel rules of their ``parse_model``.

* SpikeYOLO: BICLab/SpikeYOLO 309ef5e5, ultralytics/nn/modules/yolo_spikformer.py ("ys"),
  ultralytics/nn/tasks.py:663-773.
* EMS-YOLO: BICLab/EMS-YOLO fbfc2cae, models/common.py ("common"), models/yolo.py:36-87, 264-311.

Run from the repository root: ``python tests/torch_import/authors/data/make_key_lists.py``.
"""
import math
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def bn(p, c):  # nn.BatchNorm2d / BatchNorm3d: weight, bias, then buffers
    return [(f"{p}.weight", [c]), (f"{p}.bias", [c]), (f"{p}.running_mean", [c]), (f"{p}.running_var", [c]),
            (f"{p}.num_batches_tracked", [])]


def conv(p, cout, cin, k, groups=1, bias=False):
    return [(f"{p}.weight", [cout, cin // groups, k, k])] + ([(f"{p}.bias", [cout])] if bias else [])


# --------------------------------------------------------------------------- SpikeYOLO (ys.py)

def ms_downsampling(p, c1, c2, k):           # ys.py:524-532: encode_conv (bias=True), encode_bn, [encode_lif]
    return conv(f"{p}.encode_conv", c2, c1, k, bias=True) + bn(f"{p}.encode_bn", c2)


def sep_rep_conv(p, cin, cout, k=3):          # ys.py:334-354: body = (BNAndPadLayer(.bn), (1x1, dw kxk))
    return bn(f"{p}.body.0.bn", cin) + conv(f"{p}.body.1.0", cout, cin, 1) + conv(f"{p}.body.1.1", cout, cout, k, cout)


def sep_conv(p, dim, k):                      # ys.py:401-430: pwconv1, dwconv2, pwconv3, bn1, bn2, bn3, lifs
    med = 2 * dim
    return (conv(f"{p}.pwconv1", med, dim, 1) + conv(f"{p}.dwconv2", med, med, k, med)
            + sep_rep_conv(f"{p}.pwconv3", med, dim) + bn(f"{p}.bn1", med) + bn(f"{p}.bn2", med) + bn(f"{p}.bn3", dim))


def rep_conv(p, cin, cout, k=3):              # ys.py:306-328: body = (1x1, BNAndPadLayer(.bn), (dw kxk, 1x1, BN))
    return (conv(f"{p}.body.0", cin, cin, 1) + bn(f"{p}.body.1.bn", cin) + conv(f"{p}.body.2.0", cin, cin, k, cin)
            + conv(f"{p}.body.2.1", cout, cin, 1) + bn(f"{p}.body.2.2", cout))


def ms_conv_block(p, d, r, k):                # ys.py:448-464: Conv, lif1, lif2, conv1, bn1, conv2, bn2
    h = int(d * r)
    return sep_conv(f"{p}.Conv", d, k) + rep_conv(f"{p}.conv1", d, h) + bn(f"{p}.bn1", h) \
        + rep_conv(f"{p}.conv2", h, d) + bn(f"{p}.bn2", d)


def ms_standard_conv(p, c1, c2, k):           # ys.py:509-517: conv, bn, lif
    return conv(f"{p}.conv", c2, c1, k) + bn(f"{p}.bn", c2)


def ms_all_conv_block(p, d, r, k):            # ys.py:484-492: Conv, conv1, conv2
    h = int(d * r)
    return sep_conv(f"{p}.Conv", d, k) + ms_standard_conv(f"{p}.conv1", d, h, 3) + ms_standard_conv(f"{p}.conv2", h, d, 3)


spike_conv = ms_standard_conv                 # ys.py:568-577: conv, lif, bn -> the same keys


def spike_sppf(p, c1, c2):                    # ys.py:607-614
    return spike_conv(f"{p}.cv1", c1, c1 // 2, 1) + spike_conv(f"{p}.cv2", c1 // 2 * 4, c2, 1)


def spike_detect(p, nc, ch):                  # ys.py:191-203
    c2, c3 = max(16, ch[0] // 4, 64), max(ch[0], min(nc, 100))
    out = []
    for i, x in enumerate(ch):
        out += spike_conv(f"{p}.cv2.{i}.0", x, c2, 3) + spike_conv(f"{p}.cv2.{i}.1", c2, c2, 3) \
            + conv(f"{p}.cv2.{i}.2.conv", 64, c2, 1, bias=True)
    for i, x in enumerate(ch):
        out += spike_conv(f"{p}.cv3.{i}.0", x, c3, 3) + spike_conv(f"{p}.cv3.{i}.1", c3, c3, 3) \
            + conv(f"{p}.cv3.{i}.2.conv", nc, c3, 1, bias=True)
    return out + conv(f"{p}.dfl.conv", 1, 16, 1)


def spikeyolo_keys(doc, scale, nc):
    depth, width, max_ch = doc["scales"][scale]
    keys, ch = [], []
    for i, (f, n, m, args) in enumerate(doc["backbone"] + doc["head"]):
        n = max(round(n * depth), 1) if n > 1 else n
        srcs = f if isinstance(f, list) else [f]
        c1 = ch[f] if i > 0 and isinstance(f, int) else None
        reps = [f"model.{i}.{j}" for j in range(n)] if n > 1 else [f"model.{i}"]
        for p in reps:
            if m == "MS_GetT":
                c2 = args[0]
            elif m == "MS_DownSampling":
                c2 = int(args[0] * width)
                keys += ms_downsampling(p, c1, c2, args[1])
            elif m == "MS_AllConvBlock":
                c2 = c1
                keys += ms_all_conv_block(p, c1, args[0], args[1])
            elif m == "MS_ConvBlock":
                c2 = c1
                keys += ms_conv_block(p, c1, args[0], args[1])
            elif m == "MS_StandardConv":
                c2 = min(int(args[0] * width), int(max_ch * width))
                keys += ms_standard_conv(p, c1, c2, args[1])
            elif m == "SpikeSPPF":
                c2 = math.ceil(min(args[0], max_ch) * width / 8) * 8
                keys += spike_sppf(p, c1, c2)
            elif m == "nn.Upsample":
                c2 = c1
            elif m == "Concat":
                c2 = sum(ch[x] for x in srcs)
            elif m == "SpikeDetect":
                keys += spike_detect(p, nc, [ch[x] for x in srcs])
                c2 = None
            else:
                raise ValueError(m)
        ch.append(c2)
    return keys


# --------------------------------------------------------------------------- EMS-YOLO (common.py)

def tdbn(p, c):                               # batch_norm_2d(1): attribute bn (BatchNorm3d)
    return bn(f"{p}.bn", c)


def residual(p, cin, hidden, cout, k):        # residual_function: 0 lif, 1 conv, 2 bn, 3 lif, 4 conv, 5 bn
    return conv(f"{p}.residual_function.1", hidden, cin, k) + tdbn(f"{p}.residual_function.2", hidden) \
        + conv(f"{p}.residual_function.4", cout, hidden, k) + tdbn(f"{p}.residual_function.5", cout)


def basic_block_2(p, cin, cout, k, s):        # common.py:301-326: shortcut 0 pool, 1 lif, 2 conv, 3 bn
    out = residual(p, cin, cout, cout, k)
    if s != 1 or cin != cout:
        out += conv(f"{p}.shortcut.2", cout, cin, 1) + tdbn(f"{p}.shortcut.3", cout)
    return out


def basic_block_1(p, cin, cout, s):           # common.py:271-293: hidden 1024, 3x3
    out = residual(p, cin, 1024, cout, 3)
    if s != 1 or cin != cout:
        out += conv(f"{p}.shortcut.2", cout, cin, 1) + tdbn(f"{p}.shortcut.3", cout)
    return out


def concat_res2(p, cin, cout, k):             # common.py:332-358: shortcut 0 lif, 1 conv, 2 bn
    return residual(p, cin, cout, cout, k) + conv(f"{p}.shortcut.1", cout - cin, cin, 1) \
        + tdbn(f"{p}.shortcut.2", cout - cin)


def conv_bn(p, c1, c2, k):                    # Conv / Conv_1 (common.py:84-126): conv, bn(.bn)
    return conv(f"{p}.conv", c2, c1, k) + tdbn(f"{p}.bn", c2)


def emsyolo_keys(doc, nc):
    gw = doc["width_multiple"]
    anchors = doc["anchors"]
    na = len(anchors[0]) // 2
    keys, ch = [], []
    for i, (f, n, m, args) in enumerate(doc["backbone"] + doc["head"]):
        srcs = f if isinstance(f, list) else [f]
        c1 = ch[f] if i > 0 and isinstance(f, int) else 3
        reps = [f"model.{i}.{j}" for j in range(n)] if n > 1 else [f"model.{i}"]
        for p in reps:
            if m in ("Conv_1", "Conv", "BasicBlock_1", "BasicBlock_2", "Concat_res2"):
                c2 = math.ceil(args[0] * gw / 8) * 8
                if m in ("Conv_1", "Conv"):
                    keys += conv_bn(p, c1, c2, args[1])
                elif m == "BasicBlock_1":
                    keys += basic_block_1(p, c1, c2, args[1])
                elif m == "BasicBlock_2":
                    keys += basic_block_2(p, c1, c2, args[1], args[2])
                else:
                    keys += concat_res2(p, c1, c2, args[1])
            elif m == "Sample":
                c2 = c1
            elif m == "Concat":
                c2 = sum(ch[x] for x in srcs)
            elif m == "Detect":                  # yolo.py:48-49: buffer anchors, then m
                keys.append((f"{p}.anchors", [len(anchors), na, 2]))
                for j, x in enumerate(srcs):
                    keys += conv(f"{p}.m.{j}", na * (nc + 5), ch[x], 1, bias=True)
                c2 = None
            else:
                raise ValueError(m)
        ch.append(c2)
    return keys


def write(path, keys):
    path.write_text("".join(f"{k} {','.join(map(str, s)) or '()'}\n" for k, s in keys))


if __name__ == "__main__":
    write(HERE / "snn_yolov8s_keys.txt", spikeyolo_keys(yaml.safe_load((HERE / "snn_yolov8.yaml").read_text()), "s", 80))
    for name in ("resnet34-cat", "resnet10"):
        write(HERE / f"{name}_keys.txt", emsyolo_keys(yaml.safe_load((HERE / f"{name}.yaml").read_text()), 80))
