# The bert-ts native backend. The AVX-512 and AVX2 kernels are separate static libraries so that
# only they are compiled with those instruction sets: everything else (glue, driver, portable
# kernels) keeps the baseline x86-64 flags, and the addon loads on any x86-64 CPU, choosing its
# kernels at run time (native/src/kernels/ops.cc). On other architectures only the portable kernels
# are built.
{
  "variables": {
    "bt_common_cflags": ["-O3", "-fPIC", "-ffp-contract=off", "-fno-math-errno", "-Wno-unused-function"],
    "bt_avx512_flags": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma", "-mprefer-vector-width=512"]
  },
  "targets": [
    {
      "target_name": "bert_ts_native",
      "sources": [
        "src/napi/addon.cc",
        "src/napi/packed_file.cc",
        "src/napi/mapped_view.cc",
        "src/napi/json_numbers.cc",
        "src/napi/wordpiece.cc",
        "src/kernels/ops.cc",
        "src/kernels/half_convert.cc",
        "src/kernels/thread_pool.cc",
        "src/kernels/reference.cc",
        "src/kernels/isa_generic.cc",
        "src/kernels/isa_lowp_generic.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["<@(bt_common_cflags)"],
      "cflags_cc": ["-std=gnu++17"],
      "ldflags": ["-pthread"],
      "xcode_settings": {"OTHER_CFLAGS": ["<@(bt_common_cflags)"], "CLANG_CXX_LANGUAGE_STANDARD": "gnu++17"},
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["bt_kernels_avx2", "bt_kernels_avx512", "bt_lowp_avx2", "bt_lowp_avx512"],
          "defines": ["BT_HAVE_X86_ISAS"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "bt_kernels_avx512",
          "type": "static_library",
          "sources": ["src/kernels/isa_avx512.cc"],
          "cflags": ["<@(bt_common_cflags)", "<@(bt_avx512_flags)", "-Wno-maybe-uninitialized", "-Wno-uninitialized"],
          "cflags_cc": ["-std=gnu++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["<@(bt_common_cflags)", "<@(bt_avx512_flags)"]}
        },
        {
          "target_name": "bt_lowp_avx512",
          "type": "static_library",
          "sources": ["src/kernels/isa_lowp_avx512.cc"],
          "cflags": ["<@(bt_common_cflags)", "<@(bt_avx512_flags)", "-mavx512vnni", "-mavx512bf16"],
          "cflags_cc": ["-std=gnu++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["<@(bt_common_cflags)", "<@(bt_avx512_flags)", "-mavx512vnni", "-mavx512bf16"]}
        },
        {
          "target_name": "bt_lowp_avx2",
          "type": "static_library",
          "sources": ["src/kernels/isa_lowp_avx2.cc"],
          "cflags": ["<@(bt_common_cflags)", "-mavx2", "-mfma"],
          "cflags_cc": ["-std=gnu++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["<@(bt_common_cflags)", "-mavx2", "-mfma"]}
        },
        {
          "target_name": "bt_kernels_avx2",
          "type": "static_library",
          "sources": ["src/kernels/isa_avx2.cc"],
          "cflags": ["<@(bt_common_cflags)", "-mavx2", "-mfma"],
          "cflags_cc": ["-std=gnu++17"],
          "xcode_settings": {"OTHER_CFLAGS": ["<@(bt_common_cflags)", "-mavx2", "-mfma"]}
        }
      ]
    }]
  ]
}
