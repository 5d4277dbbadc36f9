"""Break-even activities reported by other studies, as published (abstracts; see each source),
for the report's comparison. Each entry: its citation, the quantity and value as the authors
state them, the conditions, and our conversion to spikes per neuron per timestep where their
definitions allow (``None`` where they do not)."""
from __future__ import annotations

LITERATURE = (
    {"study": "Lemaire et al. 2022",
     "cite": "E. Lemaire et al., \"An analytical estimation of spiking neural networks energy efficiency\", "
             "ICONIP 2022, LNCS 13623, pp. 574-587, doi:10.1007/978-3-031-30105-6_48, arXiv:2210.13107",
     "finding": "no break-even stated; their SNNs are \"6 to 8 times more efficient than their FNN counterparts\" "
                "under their memory-aware model (the model memory-45nm implements)",
     "per_neuron_step": None},
    {"study": "Dampfhoffer et al. 2023",
     "cite": "M. Dampfhoffer et al., \"Are SNNs really more energy-efficient than ANNs? An in-depth hardware-aware "
             "study\", IEEE TETCI 7(3):731-741, 2023, doi:10.1109/TETCI.2022.3214509 (abstract)",
     "finding": "IF SNNs compete with efficient ANN implementations only between 0.15 and 1.38 spikes per synapse "
                "per inference, depending on the ANN implementation",
     "per_neuron_step": "0.15 / T to 1.38 / T (if every spike crosses all of a neuron's output synapses): "
                        "0.0375-0.345 at T=4"},
    {"study": "Yan et al. 2024-2026",
     "cite": "Z. Yan et al., \"Reconsidering the Energy Efficiency of Spiking Neural Networks Inference from "
             "Analytical Perspectives\", arXiv:2409.08290 (v4, 2026; v1/v2 titled \"Reconsidering the energy "
             "efficiency of spiking neural networks\")",
     "finding": "v4: spike rate below 5.7% at T=5 against a quantized ANN with ceil(log2(T+1))-bit activations "
                "(v2: below 6.4% for T from 5 to 10; v1: neuron sparsity above 93%, VGG16, T=6)",
     "per_neuron_step": "0.057 at T=5 (v4), 0.064 (v2), below 0.07 (v1), reading the spike rate as spikes per "
                        "neuron per timestep"},
)


def render_literature() -> list[str]:
    lines = ["| study | break-even as published | per neuron per timestep | source |", "|---|---|---|---|"]
    for e in LITERATURE:
        lines.append(f"| {e['study']} | {e['finding']} | {e['per_neuron_step'] or 'not convertible'} | {e['cite']} |")
    return lines
