"""A V2 app holding the golden orchestrators, for ``--app golden_app:app``."""
from __future__ import annotations

import azure.durable_functions as df
import golden_orchestrators as g

app = df.DFApp()
app.function_name("FanOut")(app.orchestration_trigger(context_name="context")(g.fan_out))
app.function_name("OrderWorkflow")(
    app.orchestration_trigger(context_name="context")(g.order_workflow))
