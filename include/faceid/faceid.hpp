#pragma once
// Umbrella header for faceid_core: the pipeline stages, the Pipeline of models, the engine and its gallery.
// Evaluation (faceid/eval.hpp), video (faceid/video.hpp, faceid/tracker.hpp) and the REST
// server (faceid/server.hpp, in faceid_server) have headers of their own.
#include "faceid/alignment.hpp"
#include "faceid/detector.hpp"
#include "faceid/embedder.hpp"
#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "faceid/image.hpp"
#include "faceid/index.hpp"
#include "faceid/metric.hpp"
#include "faceid/models.hpp"
#include "faceid/pipeline.hpp"
#include "faceid/quality.hpp"
#include "faceid/store.hpp"
#include "faceid/types.hpp"
