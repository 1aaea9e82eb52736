"""MLflow "models from code" entry point: logged with each registered model instead of a
pickled object, so a model version holds no pickles (LightGBM text files and JSON only).
MLflow runs this file when it loads the model; nothing imports it."""

from mlflow.models import set_model

from models.tracking import BundleModel

set_model(BundleModel())
