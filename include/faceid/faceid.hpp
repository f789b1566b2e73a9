#pragma once
// Umbrella header for the FaceID library.
#include "faceid/alignment.hpp"
#include "faceid/detector.hpp"
#include "faceid/embedder.hpp"
#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "faceid/image.hpp"
#include "faceid/index.hpp"
#include "faceid/metric.hpp"
#include "faceid/models.hpp"
#include "faceid/store.hpp"
#include "faceid/types.hpp"
