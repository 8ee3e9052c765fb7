#include "reference.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include <vector>

#include "api.h"

namespace bt {
namespace ref {

double activation(double x, int act) {
  switch (act) {
    // 0.5 x (1 + erf(x / sqrt 2)) written with erfc, which keeps the negative tail accurate.
    case kActGelu: return 0.5 * x * erfc(-x / sqrt(2.0));
    // 0.5 x (1 + tanh(u)) = x / (1 + e^{-2u}), likewise.
    case kActGeluTanh: return x / (1.0 + exp(-2.0 * sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case kActRelu: return x > 0 ? x : 0.0;
    case kActTanh: return tanh(x);
    default: return x;
  }
}

void linear(const float* x, const float* w, const float* bias, int m, int n, int k, int act, float* y) {
  for (int r = 0; r < m; r++) {
    for (int c = 0; c < n; c++) {
      double s = 0;
      for (int i = 0; i < k; i++) s += (double)x[(size_t)r * k + i] * (double)w[(size_t)c * k + i];
      if (bias) s += bias[c];
      y[(size_t)r * n + c] = (float)activation(s, act);
    }
  }
}

static float to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return f;
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  memcpy(&f, &u, 4);
  return f;
}

void linear_lowp(const float* x, const float* w, const float* bias, int m, int n, int k, int act, int dtype, float* y) {
  if (dtype == kDtypeBF16) {
    for (int r = 0; r < m; r++)
      for (int c = 0; c < n; c++) {
        double s = 0;
        for (int i = 0; i < k; i++) s += (double)to_bf16(x[(size_t)r * k + i]) * (double)to_bf16(w[(size_t)c * k + i]);
        if (bias) s += bias[c];
        y[(size_t)r * n + c] = (float)activation((float)s, act);
      }
    return;
  }
  // Weights: q = round(w / scale), scale = max |w| / 127 per output channel.
  std::vector<int> qw((size_t)n * k);
  std::vector<float> wscale((size_t)n);
  for (int c = 0; c < n; c++) {
    float amax = 0;
    for (int i = 0; i < k; i++) amax = fmaxf(amax, fabsf(w[(size_t)c * k + i]));
    wscale[c] = amax > 0 ? amax / 127.0f : 1.0f;
    for (int i = 0; i < k; i++) qw[(size_t)c * k + i] = (int)nearbyintf(w[(size_t)c * k + i] / wscale[c]);
  }
  std::vector<int> qx((size_t)k);
  for (int r = 0; r < m; r++) {
    const float* xr = x + (size_t)r * k;
    float lo = 0, hi = 0;
    bool finite = true;
    for (int i = 0; i < k; i++) {
      lo = fminf(lo, xr[i]);
      hi = fmaxf(hi, xr[i]);
      finite = finite && isfinite(xr[i]);
    }
    const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    const float inv = 1.0f / scale;
    const int zp = (int)fminf(255.0f, fmaxf(0.0f, nearbyintf(-lo * inv)));
    for (int i = 0; i < k; i++) qx[i] = (int)fminf(255.0f, fmaxf(0.0f, nearbyintf(xr[i] * inv) + (float)zp));
    for (int c = 0; c < n; c++) {
      int64_t s = 0;
      for (int i = 0; i < k; i++) s += (int64_t)(qx[i] - zp) * qw[(size_t)c * k + i];
      float v = finite ? (float)s * wscale[c] * scale : NAN;
      if (bias) v += bias[c];
      y[(size_t)r * n + c] = act ? (float)activation(v, act) : v;
    }
  }
}

void add_layernorm(const float* x, const float* residual, int rows, int cols, const float* gamma, const float* beta,
                   float eps, float* y) {
  std::vector<float> v((size_t)cols);
  for (int r = 0; r < rows; r++) {
    const size_t o = (size_t)r * cols;
    double mean = 0;
    for (int c = 0; c < cols; c++) {
      v[c] = x[o + c] + (residual ? residual[o + c] : 0.0f);
      mean += v[c];
    }
    mean /= cols;
    double var = 0;
    for (int c = 0; c < cols; c++) var += (v[c] - mean) * (v[c] - mean);
    var /= cols;
    const double inv = 1.0 / sqrt(var + eps);
    for (int c = 0; c < cols; c++) y[o + c] = (float)((v[c] - mean) * inv * gamma[c] + beta[c]);
  }
}

void attention(const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
               float* context, float* probs, const float* bias, int bias_max_distance) {
  const int hidden = heads * head_dim;
  const size_t stride = 3 * (size_t)hidden;
  size_t poff = 0;
  for (int s = 0; s < nseq; s++) {
    const int start = seq_starts[s], len = seq_starts[s + 1] - start;
    std::vector<double> p((size_t)len);
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < len; i++) {
        const float* q = qkv + (start + i) * stride + (size_t)h * head_dim;
        double mx = -INFINITY;
        for (int j = 0; j < len; j++) {
          const float* kr = qkv + (start + j) * stride + hidden + (size_t)h * head_dim;
          double dot = 0;
          for (int d = 0; d < head_dim; d++) dot += (double)q[d] * kr[d];
          p[j] = dot * scale;
          if (bias) p[j] += bias[(size_t)h * (2 * bias_max_distance + 1) + bias_max_distance + j - i];
          if (p[j] > mx) mx = p[j];
        }
        double sum = 0;
        for (int j = 0; j < len; j++) sum += (p[j] = exp(p[j] - mx));
        for (int j = 0; j < len; j++) p[j] /= sum;
        if (probs)
          for (int j = 0; j < len; j++) probs[poff + ((size_t)h * len + i) * len + j] = (float)p[j];
        for (int d = 0; d < head_dim; d++) {
          double acc = 0;
          for (int j = 0; j < len; j++) acc += p[j] * qkv[(start + j) * stride + 2 * (size_t)hidden + (size_t)h * head_dim + d];
          context[(start + i) * (size_t)hidden + (size_t)h * head_dim + d] = (float)acc;
        }
      }
    }
    poff += (size_t)heads * len * len;
  }
}

void first_row_attention(const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
                         const float* bias_table, const int32_t* bucket_of_distance, int max_distance, float* out) {
  const int hidden = heads * head_dim;
  const size_t stride = 3 * (size_t)hidden;
  for (int s = 0; s < nseq; s++) {
    const int start = seq_starts[s], len = seq_starts[s + 1] - start;
    std::vector<double> p((size_t)len);
    for (int h = 0; h < heads; h++) {
      const float* q = qkv + start * stride + (size_t)h * head_dim;
      double mx = -INFINITY;
      for (int j = 0; j < len; j++) {
        const float* kr = qkv + (start + j) * stride + hidden + (size_t)h * head_dim;
        double dot = 0;
        for (int d = 0; d < head_dim; d++) dot += (double)q[d] * kr[d];
        p[j] = dot * scale;
        if (bias_table) p[j] += bias_table[(size_t)bucket_of_distance[j + max_distance] * heads + h];
        if (p[j] > mx) mx = p[j];
      }
      double sum = 0;
      for (int j = 0; j < len; j++) sum += (p[j] = exp(p[j] - mx));
      float* o = out + (size_t)heads * start + (size_t)h * len;
      for (int j = 0; j < len; j++) o[j] = (float)(p[j] / sum);
    }
  }
}

}  // namespace ref
}  // namespace bt
