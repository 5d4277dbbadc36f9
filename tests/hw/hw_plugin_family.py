"""A third-party hardware family, loaded through the ``neurosim.hw_families`` entry point."""
from neurosim.hw import HardwareModel, ParamSpec
from neurosim.hw.accounting import base_row, layer_counts


class ToyChipModel(HardwareModel):
    """Every synaptic event costs ``e_event``; nothing else."""

    family = "toy-chip"
    summary = "test plug-in: energy per synaptic event only"
    parameters = {"e_event": ParamSpec("energy", "energy per synaptic event")}

    def _cost(self, trace, placement):
        rows = []
        for layer in placement.layers:
            row = base_row(layer, placement.graph, trace, layer_counts(layer, placement.graph, trace))
            row.energy["synaptic"] = row.syn_ops * self.p("e_event")
            rows.append(row)
        return self.new_report(trace, rows)
