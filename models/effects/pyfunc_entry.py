"""MLflow "models from code" entry point of the effect model (see models.pyfunc_entry).
MLflow runs this file when it loads the model; nothing imports it."""

from mlflow.models import set_model

from models.effects.pipeline import EffectsPyfunc

set_model(EffectsPyfunc())
