"""The dashboard's sparklines: one row per pin, the peak resistance of each time bucket
(max, not mean: a one-report spike between two screen refreshes stays visible)."""

from __future__ import annotations

import re

from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from pogodock.model import DASH, DockModel, bucket_max, fmt


def spark_id(name: str) -> str:
    return "spark-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


class PinSparks(Vertical):
    DEFAULT_CSS = """
    PinSparks { height: auto; padding: 0 1; }
    PinSparks .sparkrow { height: 1; }
    PinSparks .sparkname { width: 10; }
    PinSparks .sparkval { width: 28; text-align: right; }
    PinSparks Sparkline { width: 1fr; height: 1; }
    """

    def add_pins(self, names: list[str]) -> None:
        """A row for each pin that has none yet."""
        for name in names:
            if not self.query("#" + spark_id(name)):
                self.mount(
                    Horizontal(
                        Label(name, classes="sparkname"),
                        Sparkline([], id=spark_id(name), summary_function=max),
                        Label("", id=spark_id(name) + "-v", classes="sparkval"),
                        classes="sparkrow",
                    )
                )

    def draw(self, model: DockModel) -> bool:
        """False while a row is not laid out yet (just mounted): draw again next tick."""
        drawn = True
        for name in model.pins:
            drawn = self._draw(model, name) and drawn
        return drawn

    def _draw(self, model: DockModel, name: str) -> bool:
        wid = spark_id(name)
        found = self.query("#" + wid)
        if not found:
            return False
        spark = found.first(Sparkline)
        if not spark.size.width:
            return False
        hist = model.pins[name].history
        data = bucket_max(list(hist), spark.size.width)
        spark.data = data
        label = self.query("#" + wid + "-v")
        if label:
            if hist:
                text = "peak %s, now %s mΩ" % (fmt(max(data), 1), fmt(hist[-1], 1))
            else:
                text = DASH
            label.first(Label).update(text)
        return True
