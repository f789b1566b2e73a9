// Vector index benchmark on synthetic unit vectors: build time, memory, single-query
// latency (p50/p99, 1 and 2 threads), batch throughput, recall against exact search,
// and the machine's memory bandwidth as the bound for exact search.
// It times whole query sets (percentiles, recall) rather than one call per
// iteration, so it is a plain program, not a Google Benchmark one.
//
//   build-faiss/bench/index_bench --sizes 10000,100000 --kinds exact,int8-scan,hnsw,ivf-sq8
//   options: --dim 512 --queries 500 --ef 64,128,256 --nprobe 8,16,32 --m 32 --efc 80
//            --save DIR (HNSW: time save + load against the build)
//            --data random|people (people: 20 faces per person around a person's centre,
//            same-person cosine ~0.6 like real embeddings; queries are new faces of them)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "faceid/index.hpp"
#include "matching/exact_index.hpp"
#include "matching/faiss_index.hpp"
#include "matching/int8_index.hpp"

namespace {

using namespace faceid;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::vector<int> split_ints(const std::string& list) {
  std::vector<int> out;
  for (const auto& s : split(list)) out.push_back(std::stoi(s));
  return out;
}

double resident_mb() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * 4096.0 / 1e6;
}

// n random unit vectors; a thread per block, each with its own seeded generator.
std::vector<float> random_units(std::size_t n, int dim, unsigned seed) {
  std::vector<float> rows(n * dim);
  constexpr std::size_t kBlock = 4096;
#pragma omp parallel for schedule(dynamic)
  for (std::size_t b = 0; b < (n + kBlock - 1) / kBlock; ++b) {
    std::mt19937 rng(seed * 1000003u + static_cast<unsigned>(b));
    std::normal_distribution<float> normal;
    for (std::size_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
      float* row = &rows[i * dim];
      double length = 0;
      for (int j = 0; j < dim; ++j) length += double(row[j] = normal(rng)) * row[j];
      for (int j = 0; j < dim; ++j) row[j] = static_cast<float>(row[j] / std::sqrt(length));
    }
  }
  return rows;
}

// n faces of n / 20 people: unit(centre + noise), the noise of length 0.8 spread over
// every dimension, so two faces of one person have cosine ~1 / (1 + 0.8^2) = 0.61 and
// faces of different people ~0, as real embeddings of the same and different people.
// The gallery holds faces in person order; queries (`gallery` false) are new faces
// of random people, drawn with another seed.
constexpr std::size_t kFacesPerPerson = 20;
std::vector<float> people_units(std::size_t people, std::size_t count, bool gallery, int dim, unsigned seed) {
  const std::vector<float> centres = random_units(people, dim, 7);
  std::vector<float> rows = random_units(count, dim, seed);  // the noise directions
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> person(0, people - 1);
  const float spread = 0.8f;
  for (std::size_t i = 0; i < count; ++i) {
    const float* centre = &centres[(gallery ? i / kFacesPerPerson : person(rng)) * dim];
    float* row = &rows[i * dim];
    double length = 0;
    for (int j = 0; j < dim; ++j) length += double(row[j] = centre[j] + spread * row[j]) * row[j];
    for (int j = 0; j < dim; ++j) row[j] = static_cast<float>(row[j] / std::sqrt(length));
  }
  return rows;
}

struct Latency {
  double p50_ms = 0, p99_ms = 0;
  double cpu_p50_ms = 0;  // the querying thread's CPU time: what other processes cannot inflate
};

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

// Queries one at a time with `threads` OpenMP threads available to each query.
Latency single_query_latency(const VectorIndex& index, const std::vector<float>& queries, int count, int k,
                             int threads) {
  omp_set_num_threads(threads);
  const int dim = index.dim();
  for (int q = 0; q < std::min(count, 5); ++q) index.search(&queries[q * dim], k);  // warm caches and threads
  std::vector<double> ms, cpu_ms;
  for (int q = 0; q < count; ++q) {
    const auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    index.search(&queries[q * dim], k);
    cpu_ms.push_back((thread_cpu_seconds() - cpu_start) * 1e3);
    ms.push_back(seconds_since(start) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  std::sort(cpu_ms.begin(), cpu_ms.end());
  omp_set_num_threads(2);
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], cpu_ms[cpu_ms.size() / 2]};
}

// All queries, spread over the threads; a query inside runs single-threaded.
std::vector<std::vector<IndexHit>> batch_search(const VectorIndex& index, const std::vector<float>& queries,
                                                int count, int k, double* qps) {
  std::vector<std::vector<IndexHit>> hits(count);
  const auto start = Clock::now();
#pragma omp parallel for schedule(dynamic)
  for (int q = 0; q < count; ++q) hits[q] = index.search(&queries[q * index.dim()], k);
  *qps = count / seconds_since(start);
  return hits;
}

struct Recall {
  double at1 = 0, at10 = 0;
};

Recall recall(const std::vector<std::vector<IndexHit>>& found, const std::vector<std::vector<IndexHit>>& truth) {
  Recall r;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    if (!found[q].empty() && found[q][0].id == truth[q][0].id) r.at1 += 1;
    std::set<std::int64_t> expected;
    for (const auto& hit : truth[q]) expected.insert(hit.id);
    for (const auto& hit : found[q]) r.at10 += expected.count(hit.id) / 10.0;
  }
  r.at1 /= truth.size();
  r.at10 /= truth.size();
  return r;
}

void print_row(std::size_t n, const std::string& kind, const std::string& params, double build_s,
               double memory_mb, const Latency& one, const Latency& two, double qps, const Recall& r) {
  std::printf("| %zu | %s | %s | %.1f | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f | %.3f | %.3f |\n", n,
              kind.c_str(), params.c_str(), build_s, memory_mb, one.p50_ms, one.p99_ms, one.cpu_p50_ms, two.p50_ms,
              two.p99_ms, qps, r.at1, r.at10);
  std::fflush(stdout);
}

// Read bandwidth through the exact index's own kernel, and memcpy, over 1 GiB.
void memory_bandwidth() {
  const std::size_t floats = std::size_t{1} << 28;
  std::vector<float> a(floats, 1.f), b(floats, 0.f);
  for (int threads : {1, 2}) {
    std::vector<double> read, copy;
    for (int rep = 0; rep < 5; ++rep) {
      auto start = Clock::now();
      float sink = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : sink)
      for (int t = 0; t < threads; ++t) {
        const std::size_t begin = floats * t / threads, end = floats * (t + 1) / threads;
        for (std::size_t i = begin; i < end; i += std::size_t{1} << 20)
          sink += dot_product(&a[i], &a[i], static_cast<int>(std::min(end - i, std::size_t{1} << 20)));
      }
      read.push_back(floats * 4.0 / seconds_since(start) / 1e9);
      if (sink < 0) std::puts("");
      start = Clock::now();
#pragma omp parallel for num_threads(threads)
      for (int t = 0; t < threads; ++t) {
        const std::size_t begin = floats * t / threads, end = floats * (t + 1) / threads;
        std::memcpy(&b[begin], &a[begin], (end - begin) * 4);
      }
      copy.push_back(floats * 4.0 / seconds_since(start) / 1e9);
    }
    std::sort(read.begin(), read.end());
    std::sort(copy.begin(), copy.end());
    std::printf("memory bandwidth, %d thread(s), median of 5 over 1 GiB: read %.1f GB/s, memcpy %.1f GB/s copied"
                " (%.1f GB/s read+write)\n", threads, read[2], copy[2], 2 * copy[2]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args{{"--sizes", "10000,100000"}, {"--kinds", "exact,hnsw,ivf-sq8"},
                                          {"--dim", "512"},  {"--queries", "500"},
                                          {"--ef", "64,128,256"}, {"--nprobe", "8,16,32"},
                                          {"--m", "32"},     {"--efc", "80"},
                                          {"--save", ""},    {"--bandwidth", "1"},
                                          {"--data", "random"}};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!args.count(argv[i])) {
      std::cerr << "unknown option " << argv[i] << "\n";
      return 2;
    }
    args[argv[i]] = argv[i + 1];
  }
  const int dim = std::stoi(args["--dim"]), nq = std::stoi(args["--queries"]);
  if (args["--bandwidth"] == "1") memory_bandwidth();
  std::printf("| n | index | params | build s | memory MB | p50 1t ms | p99 1t ms | CPU p50 1t ms | p50 2t ms |"
              " p99 2t ms | batch QPS 2t | recall@1 | recall@10 |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& size : split(args["--sizes"])) {
    const std::size_t n = std::stoull(size);
    const bool people = args["--data"] == "people";
    const std::size_t persons = (n + kFacesPerPerson - 1) / kFacesPerPerson;
    std::vector<float> rows = people ? people_units(persons, n, true, dim, 1) : random_units(n, dim, 1);
    const std::vector<float> queries = people ? people_units(persons, nq, false, dim, 2) : random_units(nq, dim, 2);
    std::vector<std::int64_t> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i);

    double before = resident_mb();
    auto start = Clock::now();
    ExactIndex exact(dim);
    exact.add_batch(n, ids.data(), rows.data());
    const double exact_build = seconds_since(start), exact_mb = resident_mb() - before;
    double qps = 0;
    const auto truth = batch_search(exact, queries, nq, 10, &qps);
    const std::set<std::string> kinds = [&] {
      const auto list = split(args["--kinds"]);
      return std::set<std::string>(list.begin(), list.end());
    }();
    if (kinds.count("exact")) {
      const int count = std::min(nq, n >= 1000000 ? 100 : nq);
      const Latency one = single_query_latency(exact, queries, count, 10, 1);
      const Latency two = single_query_latency(exact, queries, count, 10, 2);
      print_row(n, "exact", "-", exact_build, exact_mb, one, two, qps, {1, 1});
      const double gb = n * dim * 4.0 / 1e9;
      std::printf("exact scan rate: %.1f GB/s (1 thread, p50), %.1f GB/s (2 threads, p50)\n",
                  gb / (one.p50_ms / 1e3), gb / (two.p50_ms / 1e3));
    }
    if (kinds.count("int8-scan")) {
      before = resident_mb();
      start = Clock::now();
      Int8ScanIndex coded(dim);
      coded.add_batch(n, ids.data(), rows.data());
      const double build = seconds_since(start), mb = resident_mb() - before;
      const int count = std::min(nq, n >= 1000000 ? 100 : nq);
      const auto found = batch_search(coded, queries, nq, 10, &qps);
      const Latency one = single_query_latency(coded, queries, count, 10, 1);
      print_row(n, "int8-scan", "rerank " + std::to_string(Int8ScanIndex::rerank_count(10)), build, mb, one,
                single_query_latency(coded, queries, count, 10, 2), qps, recall(found, truth));
      std::printf("int8 code scan rate: %.1f GB/s of codes (1 thread, p50)\n", n * dim / 1e9 / (one.p50_ms / 1e3));
    }
    if (kinds.count("hnsw")) {
      IndexOptions options;
      options.hnsw_m = std::stoi(args["--m"]);
      options.hnsw_ef_construction = std::stoi(args["--efc"]);
      before = resident_mb();
      start = Clock::now();
      HnswIndex graph(dim, options);
      // In slices, to show the build rate on runs too long to wait for.
      const std::size_t slice = std::max<std::size_t>(n / 10, 1);
      for (std::size_t done = 0; done < n; done += std::min(slice, n - done)) {
        graph.add_batch(std::min(slice, n - done), &ids[done], &rows[done * dim]);
        std::fprintf(stderr, "hnsw build: %zu of %zu vectors after %.0f s\n", done + std::min(slice, n - done), n,
                     seconds_since(start));
      }
      const double build = seconds_since(start), mb = resident_mb() - before;
      for (int ef : split_ints(args["--ef"])) {
        graph.set_ef_search(ef);
        const auto found = batch_search(graph, queries, nq, 10, &qps);
        print_row(n, "hnsw", "M=" + args["--m"] + " efC=" + args["--efc"] + " efS=" + std::to_string(ef), build,
                  mb, single_query_latency(graph, queries, nq, 10, 1), single_query_latency(graph, queries, nq, 10, 2),
                  qps, recall(found, truth));
      }
      if (!args["--save"].empty()) {
        const std::string path = args["--save"] + "/hnsw_" + size + ".index";
        start = Clock::now();
        graph.save(path);
        const double save_s = seconds_since(start);
        start = Clock::now();
        const auto loaded = HnswIndex::load(path, options);
        std::printf("hnsw n=%zu: build %.1f s, save %.2f s, load %.2f s, file %.0f MB\n", n, build, save_s,
                    seconds_since(start), std::filesystem::file_size(path) / 1e6);
        std::filesystem::remove(path);
      }
    }
    if (kinds.count("ivf-sq8")) {
      IndexOptions options;
      before = resident_mb();
      start = Clock::now();
      IvfSq8Index lists(dim, options, n, ids.data(), rows.data());
      const double build = seconds_since(start), mb = resident_mb() - before;
      for (int nprobe : split_ints(args["--nprobe"])) {
        lists.set_nprobe(nprobe);
        const auto found = batch_search(lists, queries, nq, 10, &qps);
        print_row(n, "ivf-sq8", "lists=" + std::to_string(static_cast<int>(std::sqrt(n))) +
                                    " nprobe=" + std::to_string(nprobe),
                  build, mb, single_query_latency(lists, queries, nq, 10, 1),
                  single_query_latency(lists, queries, nq, 10, 2), qps, recall(found, truth));
      }
    }
  }
  return 0;
}
