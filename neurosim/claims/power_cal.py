"""SpikeYOLO's public energy sheet, ``power_cal.xlsx`` (BICLab/SpikeYOLO, repository root, commit
27441e4 of 2025-04-15), transcribed as numbers, and its reconciliation with our paper-scale graph.

The maintainers call it "a calculation template" for the 23M model at 640x640 RGB (issue #69).
Each of its 89 rows is one convolution with the firing rate of its input neuron (column E, D
included, T not: issues #31, #64) and its shape; the sheet computes (columns P, R, T)::

    FLOPs = Cin x Cout x k^2 / S^2 x Hin x Win / groups
    E_ANN = sum FLOPs x 4.6 pJ          E_SNN = sum FLOPs x 0.9 pJ x rate

with the first row's "rate" set to 4.6, so the encoding layer costs FLOPs x 0.9 x 4.6 pJ.
Totals: 101.2113408 G FLOPs, 465.57 mJ (ANN) and 34.49 mJ (SNN).

Against our ``spikeyolo-s-640`` the rows are the same layers in the same order (see
:func:`reconcile`); 86 are identical and 3 differ: layer 12's last SepConv conv is computed at
20x20 instead of 40x40 (a sheet slip: the layer runs at P4, 40x40), and layer 22's hidden width is
512 where the yaml's mlp ratio 3 gives 768 (two rows).
"""
from __future__ import annotations

SOURCE = ("SpikeYOLO power_cal.xlsx (BICLab/SpikeYOLO, repository root, commit 27441e4, 2025-04-15), "
          "rows 4-92, columns E-N")
SHEET_TOTALS = {"flops": 101_211_340_800, "ann_pJ": 465_572_167_680.0, "snn_pJ": 34_489_370_419.2}
SHEET_E_MAC_PJ, SHEET_E_AC_PJ = 4.6, 0.9   # cells D1, D2 (labelled mJ in the sheet; the products are pJ)

# (sheet row, neuron named in column D, rate (column E), Cin, Cout, k, S, Hin, Win, Hout, Wout, groups)
ROWS = (
    (4, 'DownSampling1', 4.6, 3, 64, 7, 4, 640, 640, 160, 160, 1),
    (5, 'model.model.2.Conv.lif1', 1.1872, 64, 128, 1, 1, 160, 160, 160, 160, 1),
    (6, 'model.model.2.Conv.lif2', 1.1496, 128, 128, 7, 1, 160, 160, 160, 160, 128),
    (7, 'model.model.2.Conv.lif3', 0.9281, 128, 64, 3, 1, 160, 160, 160, 160, 1),
    (8, 'model.model.2.conv1.lif', 1.4604, 64, 256, 3, 1, 160, 160, 160, 160, 1),
    (9, 'model.model.2.conv2.lif', 0.2468, 256, 64, 3, 1, 160, 160, 160, 160, 1),
    (10, 'model.model.3.encode_lif', 1.0302, 64, 128, 3, 2, 160, 160, 80, 80, 1),
    (11, 'model.model.4.0.Conv.lif1', 0.742, 128, 256, 1, 1, 80, 80, 80, 80, 1),
    (12, 'model.model.4.0.Conv.lif2', 0.7202, 256, 256, 7, 1, 80, 80, 80, 80, 256),
    (13, 'model.model.4.0.Conv.lif3', 0.4002, 256, 128, 3, 1, 80, 80, 80, 80, 1),
    (14, 'model.model.4.0.conv1.lif', 0.8431, 128, 512, 3, 1, 80, 80, 80, 80, 1),
    (15, 'model.model.4.0.conv2.lif', 0.0976, 512, 128, 3, 1, 80, 80, 80, 80, 1),
    (16, 'model.model.4.1.Conv.lif1', 0.7333, 128, 256, 1, 1, 80, 80, 80, 80, 1),
    (17, 'model.model.4.1.Conv.lif2', 0.4106, 256, 256, 7, 1, 80, 80, 80, 80, 256),
    (18, 'model.model.4.1.Conv.lif3', 0.2564, 256, 128, 3, 1, 80, 80, 80, 80, 1),
    (19, 'model.model.4.1.conv1.lif', 0.6367, 128, 512, 3, 1, 80, 80, 80, 80, 1),
    (20, 'model.model.4.1.conv2.lif', 0.0495, 512, 128, 3, 1, 80, 80, 80, 80, 1),
    (21, 'model.model.5.encode_lif', 0.8545, 128, 256, 3, 2, 80, 80, 40, 40, 1),
    (22, 'model.model.6.0.Conv.lif1', 0.3, 256, 512, 1, 1, 40, 40, 40, 40, 1),
    (23, 'model.model.6.0.Conv.lif2', 0.3479, 512, 512, 7, 1, 40, 40, 40, 40, 512),
    (24, 'model.model.6.0.Conv.lif3', 0.2153, 512, 256, 3, 1, 40, 40, 40, 40, 1),
    (25, 'model.model.6.0.lif1', 0.3108, 256, 768, 3, 1, 40, 40, 40, 40, 1),
    (26, 'model.model.6.0.lif2', 0.1159, 768, 256, 3, 1, 40, 40, 40, 40, 1),
    (27, 'model.model.6.1.Conv.lif1', 0.2372, 256, 512, 1, 1, 40, 40, 40, 40, 1),
    (28, 'model.model.6.1.Conv.lif2', 0.2255, 512, 512, 7, 1, 40, 40, 40, 40, 512),
    (29, 'model.model.6.1.Conv.lif3', 0.183, 512, 256, 3, 1, 40, 40, 40, 40, 1),
    (30, 'model.model.6.1.lif1', 0.2488, 256, 768, 3, 1, 40, 40, 40, 40, 1),
    (31, 'model.model.6.1.lif2', 0.1033, 768, 256, 3, 1, 40, 40, 40, 40, 1),
    (32, 'model.model.6.2.Conv.lif1', 0.2242, 256, 512, 1, 1, 40, 40, 40, 40, 1),
    (33, 'model.model.6.2.Conv.lif2', 0.2233, 512, 512, 7, 1, 40, 40, 40, 40, 512),
    (34, 'model.model.6.2.Conv.lif3', 0.1901, 512, 256, 3, 1, 40, 40, 40, 40, 1),
    (35, 'model.model.6.2.lif1', 0.2555, 256, 768, 3, 1, 40, 40, 40, 40, 1),
    (36, 'model.model.6.2.lif2', 0.1512, 768, 256, 3, 1, 40, 40, 40, 40, 1),
    (37, 'model.model.7.encode_lif', 0.3155, 256, 512, 3, 2, 40, 40, 20, 20, 1),
    (38, 'model.model.8.Conv.lif1', 0.1015, 512, 1024, 1, 1, 20, 20, 20, 20, 1),
    (39, 'model.model.8.Conv.lif2', 0.2441, 1024, 1024, 7, 1, 20, 20, 20, 20, 1024),
    (40, 'model.model.8.Conv.lif3', 0.2726, 1024, 512, 3, 1, 20, 20, 20, 20, 1),
    (41, 'model.model.8.lif1', 0.1591, 512, 1024, 3, 1, 20, 20, 20, 20, 1),
    (42, 'model.model.8.lif2', 0.335, 1024, 512, 3, 1, 20, 20, 20, 20, 1),
    (43, 'model.model.9.cv1.lif', 0.1419, 512, 256, 1, 1, 20, 20, 20, 20, 1),
    (44, 'model.model.9.cv2.lif', 1.6909, 1024, 512, 1, 1, 20, 20, 20, 20, 1),
    (45, 'model.model.10.lif', 0.2992, 512, 256, 1, 1, 20, 20, 20, 20, 1),
    (46, 'model.model.12.Conv.lif1', 0.2248, 256, 512, 1, 1, 40, 40, 40, 40, 1),
    (47, 'model.model.12.Conv.lif2', 0.3897, 512, 512, 7, 1, 40, 40, 40, 40, 512),
    (48, 'model.model.12.Conv.lif3', 0.2713, 512, 256, 3, 1, 20, 20, 20, 20, 1),
    (49, 'model.model.12.lif1', 0.3117, 256, 768, 3, 1, 40, 40, 40, 40, 1),
    (50, 'model.model.12.lif2', 0.3054, 768, 256, 3, 1, 40, 40, 40, 40, 1),
    (51, 'model.model.14.lif', 0.3096, 512, 128, 1, 1, 40, 40, 40, 40, 1),
    (52, 'model.model.16.Conv.lif1', 0.4535, 128, 256, 1, 1, 80, 80, 80, 80, 1),
    (53, 'model.model.16.Conv.lif2', 0.4827, 256, 256, 7, 1, 80, 80, 80, 80, 256),
    (54, 'model.model.16.Conv.lif3', 0.2481, 256, 128, 3, 1, 80, 80, 80, 80, 1),
    (55, 'model.model.16.conv1.lif', 0.4912, 128, 512, 3, 1, 80, 80, 80, 80, 1),
    (56, 'model.model.16.conv2.lif', 0.0728, 512, 128, 3, 1, 80, 80, 80, 80, 1),
    (57, 'model.model.18.lif', 0.7579, 256, 128, 1, 1, 80, 80, 80, 80, 1),
    (58, 'model.model.19.Conv.lif1', 0.5353, 128, 256, 1, 1, 80, 80, 80, 80, 1),
    (59, 'model.model.19.Conv.lif2', 0.4246, 256, 256, 7, 1, 80, 80, 80, 80, 256),
    (60, 'model.model.19.Conv.lif3', 0.3166, 256, 128, 3, 1, 80, 80, 80, 80, 1),
    (61, 'model.model.19.conv1.lif', 0.6301, 128, 512, 3, 1, 80, 80, 80, 80, 1),
    (62, 'model.model.19.conv2.lif', 0.0611, 512, 128, 3, 1, 80, 80, 80, 80, 1),
    (63, 'model.model.20.lif', 0.819, 128, 128, 3, 2, 80, 80, 40, 40, 1),
    (64, 'model.model.22.Conv.lif1', 0.389, 256, 512, 1, 1, 40, 40, 40, 40, 1),
    (65, 'model.model.22.Conv.lif2', 0.2637, 512, 512, 7, 1, 40, 40, 40, 40, 512),
    (66, 'model.model.22.Conv.lif3', 0.2373, 512, 256, 3, 1, 40, 40, 40, 40, 1),
    (67, 'model.model.22.lif1', 0.3466, 256, 512, 3, 1, 40, 40, 40, 40, 1),
    (68, 'model.model.22.lif2', 0.1607, 512, 256, 3, 1, 40, 40, 40, 40, 1),
    (69, 'model.model.23.lif', 0.393, 256, 256, 3, 2, 40, 40, 20, 20, 1),
    (70, 'model.model.25.Conv.lif1', 0.2098, 512, 1024, 1, 1, 20, 20, 20, 20, 1),
    (71, 'model.model.25.Conv.lif2', 0.2639, 1024, 1024, 7, 1, 20, 20, 20, 20, 1024),
    (72, 'model.model.25.Conv.lif3', 0.2175, 1024, 512, 3, 1, 20, 20, 20, 20, 1),
    (73, 'model.model.25.lif1', 0.2035, 512, 512, 3, 1, 20, 20, 20, 20, 1),
    (74, 'model.model.25.lif2', 0.2818, 512, 512, 3, 1, 20, 20, 20, 20, 1),
    (75, 'model.model.26.cv2.0.0.lif', 0.819, 128, 64, 3, 1, 80, 80, 80, 80, 1),
    (76, 'model.model.26.cv2.0.1.lif', 0.762, 64, 64, 3, 1, 80, 80, 80, 80, 1),
    (77, 'model.model.26.cv2.0.2.lif', 1.38, 64, 64, 1, 1, 80, 80, 80, 80, 1),
    (78, 'model.model.26.cv3.0.0.lif', 0.819, 128, 128, 3, 1, 80, 80, 80, 80, 1),
    (79, 'model.model.26.cv3.0.1.lif', 0.3376, 128, 128, 3, 1, 80, 80, 80, 80, 1),
    (80, 'model.model.26.cv3.0.2.lif', 1.2316, 128, 80, 1, 1, 80, 80, 80, 80, 1),
    (81, 'model.model.26.cv2.1.0.lif', 0.393, 256, 64, 3, 1, 40, 40, 40, 40, 1),
    (82, 'model.model.26.cv2.1.1.lif', 0.7907, 64, 64, 3, 1, 40, 40, 40, 40, 1),
    (83, 'model.model.26.cv2.1.2.lif', 1.6714, 64, 64, 1, 1, 40, 40, 40, 40, 1),
    (84, 'model.model.26.cv3.1.0.lif', 0.393, 256, 128, 3, 1, 40, 40, 40, 40, 1),
    (85, 'model.model.26.cv3.1.1.lif', 0.3375, 128, 128, 3, 1, 40, 40, 40, 40, 1),
    (86, 'model.model.26.cv3.1.2.lif', 1.2069, 128, 80, 1, 1, 40, 40, 40, 40, 1),
    (87, 'model.model.26.cv2.2.0.lif', 0.2563, 512, 64, 3, 1, 20, 20, 20, 20, 1),
    (88, 'model.model.26.cv2.2.1.lif', 0.739, 64, 64, 3, 1, 20, 20, 20, 20, 1),
    (89, 'model.model.26.cv2.2.2.lif', 1.8419, 64, 64, 1, 1, 20, 20, 20, 20, 1),
    (90, 'model.model.26.cv3.2.0.lif', 0.2563, 512, 128, 3, 1, 20, 20, 20, 20, 1),
    (91, 'model.model.26.cv3.2.1.lif', 0.3591, 128, 128, 3, 1, 20, 20, 20, 20, 1),
    (92, 'model.model.26.cv3.2.2.lif', 1.188, 128, 80, 1, 1, 20, 20, 20, 20, 1),
)
FIELDS = ("row", "neuron", "rate", "Cin", "Cout", "k", "S", "Hin", "Win", "Hout", "Wout", "groups")


def sheet_rows() -> list[dict]:
    """The 89 rows as dicts (``FIELDS``) with the sheet's own ``flops`` (its column P formula)."""
    out = []
    for values in ROWS:
        r = dict(zip(FIELDS, values))
        r["flops"] = r["Cin"] * r["Cout"] * r["k"] ** 2 * r["Hin"] * r["Win"] // (r["S"] ** 2 * r["groups"])
        out.append(r)
    return out


def sheet_energies() -> dict:
    """The sheet's totals recomputed from its rows: FLOPs, E_ANN and E_SNN in pJ (first row's rate 4.6)."""
    rows = sheet_rows()
    return {"flops": sum(r["flops"] for r in rows),
            "ann_pJ": sum(r["flops"] * SHEET_E_MAC_PJ for r in rows),
            "snn_pJ": sum(r["flops"] * SHEET_E_AC_PJ * r["rate"] for r in rows)}


def reconcile(graph) -> list[dict]:
    """Row by row against ``graph``'s layer table (same order): per row the sheet's FLOPs, ours, the
    node, and the fields that differ (``Cin``, ``Cout``, ``k``, ``S``, ``groups``, ``Hout``, ``Wout``)."""
    from .architectures import layer_table

    table = layer_table(graph)
    rows = sheet_rows()
    if len(table) != len(rows):
        raise ValueError(f"the graph has {len(table)} synaptic layers, the sheet {len(rows)} rows")
    out = []
    for r, t in zip(rows, table):
        ours = {"Cin": t["Cin"], "Cout": t["Cout"], "k": t["k"], "S": t["stride"], "groups": t["groups"],
                "Hout": t["H_out"], "Wout": t["W_out"]}
        differs = {k: (r[k], v) for k, v in ours.items() if r[k] != v}
        out.append({"row": r["row"], "node": t["name"], "input": t["input"], "sheet_flops": r["flops"],
                    "flops": t["flops"], "differs": differs})
    return out


def sheet_rates(graph) -> dict[str, float]:
    """The sheet's rates on ``graph``: {our neuron feeding the layer: the row's rate}, for every row
    but the encoding layer (whose input is the image). Usable on any graph with SpikeYOLO-s's
    layers (spikeyolo-s-640, spikeyolo-s-gen1): the rate pattern of the authors' template."""
    inputs = set(graph.input_names)
    rates = {}
    for rec, r in zip(reconcile(graph), sheet_rows()):
        if rec["input"] not in inputs:
            rates[rec["input"]] = float(r["rate"])
    return rates
