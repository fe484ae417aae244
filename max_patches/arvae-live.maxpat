{
  "patcher": {
    "fileversion": 1,
    "appversion": {
      "major": 8,
      "minor": 5,
      "revision": 0,
      "architecture": "x64",
      "modernui": 1
    },
    "classnamespace": "box",
    "rect": [
      100.0,
      100.0,
      1200.0,
      1100.0
    ],
    "openinpresentation": 1,
    "default_fontsize": 10.0,
    "default_fontname": "Arial",
    "gridsize": [
      8.0,
      8.0
    ],
    "devicewidth": 640.0,
    "description": "arvae-live: regenerate a MIDI clip's melody by musical attributes (AR-VAE) with the arvae-live daemon",
    "boxes": [
      {
        "box": {
          "id": "obj-1",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 3,
          "outlettype": [
            "bang",
            "int",
            "int"
          ],
          "patching_rect": [
            20.0,
            20.0,
            117.0,
            22.0
          ],
          "text": "live.thisdevice"
        }
      },
      {
        "box": {
          "id": "obj-2",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            330.0,
            180.0,
            22.0
          ],
          "text": "js arvae-live.js 9128"
        }
      },
      {
        "box": {
          "id": "obj-3",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            20.0,
            380.0,
            166.0,
            22.0
          ],
          "text": "udpsend 127.0.0.1 9127"
        }
      },
      {
        "box": {
          "id": "obj-4",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            230.0,
            380.0,
            124.0,
            22.0
          ],
          "text": "print arvae-live"
        }
      },
      {
        "box": {
          "id": "obj-5",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            60.0,
            117.0,
            22.0
          ],
          "text": "udpreceive 9128"
        }
      },
      {
        "box": {
          "id": "obj-6",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            90.0,
            68.0,
            22.0
          ],
          "text": "deferlow"
        }
      },
      {
        "box": {
          "id": "obj-7",
          "maxclass": "newobj",
          "numinlets": 19,
          "numoutlets": 19,
          "outlettype": [
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            120.0,
            1000.0,
            22.0
          ],
          "text": "routepass /arvae/hello /arvae/ping /arvae/status /arvae/models/begin /arvae/models/item /arvae/models/end /arvae/attrs/begin /arvae/attrs/item /arvae/attrs/end /arvae/model/load /arvae/clip/end /arvae/result/begin /arvae/result/note /arvae/result/asked /arvae/result/end /arvae/regen /arvae/warning /arvae/error"
        }
      },
      {
        "box": {
          "id": "obj-8",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            1040.0,
            160.0,
            187.0,
            22.0
          ],
          "text": "print arvae-live-unrouted"
        }
      },
      {
        "box": {
          "id": "obj-9",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            "int"
          ],
          "patching_rect": [
            560.0,
            20.0,
            54.0,
            22.0
          ],
          "text": "midiin"
        }
      },
      {
        "box": {
          "id": "obj-10",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            560.0,
            60.0,
            61.0,
            22.0
          ],
          "text": "midiout"
        }
      },
      {
        "box": {
          "id": "obj-11",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            700.0,
            20.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            2.0,
            70.0,
            18.0
          ],
          "text": "arvae-live",
          "fontface": 1
        }
      },
      {
        "box": {
          "id": "obj-12",
          "maxclass": "live.menu",
          "numinlets": 1,
          "numoutlets": 3,
          "outlettype": [
            "",
            "",
            "float"
          ],
          "patching_rect": [
            700.0,
            50.0,
            120.0,
            15.0
          ],
          "presentation": 1,
          "presentation_rect": [
            74.0,
            4.0,
            130.0,
            15.0
          ],
          "parameter_enable": 1,
          "varname": "model_menu",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Model",
              "parameter_shortname": "Model",
              "parameter_type": 2,
              "parameter_enum": [
                "(no daemon)"
              ],
              "parameter_mmax": 0
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-13",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            700.0,
            75.0,
            103.0,
            22.0
          ],
          "text": "prepend model"
        }
      },
      {
        "box": {
          "id": "obj-14",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            850.0,
            50.0,
            300.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            210.0,
            2.0,
            424.0,
            18.0
          ],
          "varname": "status_conn",
          "text": "daemon offline: run `arvae-live serve`"
        }
      },
      {
        "box": {
          "id": "obj-15",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            20.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_0",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-16",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            20.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            14.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_0",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 1",
              "parameter_shortname": "Attr 1",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-17",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 0"
        }
      },
      {
        "box": {
          "id": "obj-18",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            20.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_0",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-19",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            90.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            66.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_1",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-20",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            90.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            74.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_1",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 2",
              "parameter_shortname": "Attr 2",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-21",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            90.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 1"
        }
      },
      {
        "box": {
          "id": "obj-22",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            90.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            66.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_1",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-23",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            160.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            126.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_2",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-24",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            160.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            134.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_2",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 3",
              "parameter_shortname": "Attr 3",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-25",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            160.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 2"
        }
      },
      {
        "box": {
          "id": "obj-26",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            160.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            126.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_2",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-27",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            230.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            186.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_3",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-28",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            230.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            194.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_3",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 4",
              "parameter_shortname": "Attr 4",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-29",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            230.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 3"
        }
      },
      {
        "box": {
          "id": "obj-30",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            230.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            186.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_3",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-31",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            300.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            246.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_4",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-32",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            300.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            254.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_4",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 5",
              "parameter_shortname": "Attr 5",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-33",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            300.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 4"
        }
      },
      {
        "box": {
          "id": "obj-34",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            300.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            246.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_4",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-35",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            370.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            306.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_5",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-36",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            370.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            314.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_5",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 6",
              "parameter_shortname": "Attr 6",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-37",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            370.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 5"
        }
      },
      {
        "box": {
          "id": "obj-38",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            370.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            306.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_5",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-39",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            440.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            366.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_6",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-40",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            440.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            374.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_6",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 7",
              "parameter_shortname": "Attr 7",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-41",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            440.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 6"
        }
      },
      {
        "box": {
          "id": "obj-42",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            440.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            366.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_6",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-43",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            510.0,
            430.0,
            66.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            426.0,
            22.0,
            60.0,
            14.0
          ],
          "varname": "attr_label_7",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-44",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            510.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            434.0,
            36.0,
            44.0,
            44.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_7",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Attr 8",
              "parameter_shortname": "Attr 8",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 1.0,
              "parameter_initial": [
                0.5
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-45",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            510.0,
            510.0,
            66.0,
            22.0
          ],
          "text": "prepend target 7"
        }
      },
      {
        "box": {
          "id": "obj-46",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            510.0,
            540.0,
            66.0,
            30.0
          ],
          "presentation": 1,
          "presentation_rect": [
            426.0,
            82.0,
            60.0,
            26.0
          ],
          "varname": "attr_result_7",
          "text": "",
          "fontsize": 8.0,
          "linecount": 2
        }
      },
      {
        "box": {
          "id": "obj-47",
          "maxclass": "live.numbox",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            20.0,
            620.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            560.0,
            22.0,
            40.0,
            15.0
          ],
          "parameter_enable": 1,
          "varname": "variations_box",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Variations",
              "parameter_shortname": "Variations",
              "parameter_type": 1,
              "parameter_mmin": 1.0,
              "parameter_mmax": 8.0,
              "parameter_initial": [
                1
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 0
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-48",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            648.0,
            138.0,
            22.0
          ],
          "text": "prepend variations"
        }
      },
      {
        "box": {
          "id": "obj-49",
          "maxclass": "live.numbox",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            20.0,
            680.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            560.0,
            40.0,
            40.0,
            15.0
          ],
          "parameter_enable": 1,
          "varname": "temperature_box",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Temperature",
              "parameter_shortname": "Temp",
              "parameter_type": 0,
              "parameter_mmin": 0.0,
              "parameter_mmax": 2.0,
              "parameter_initial": [
                1.0
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 1
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-50",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            708.0,
            145.0,
            22.0
          ],
          "text": "prepend temperature"
        }
      },
      {
        "box": {
          "id": "obj-51",
          "maxclass": "live.numbox",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            20.0,
            740.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            560.0,
            58.0,
            70.0,
            15.0
          ],
          "parameter_enable": 1,
          "varname": "seed_box",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Seed",
              "parameter_shortname": "Seed",
              "parameter_type": 1,
              "parameter_mmin": 0.0,
              "parameter_mmax": 99999.0,
              "parameter_initial": [
                0
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 0
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-52",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            768.0,
            96.0,
            22.0
          ],
          "text": "prepend seed"
        }
      },
      {
        "box": {
          "id": "obj-53",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            800.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            490.0,
            78.0,
            68.0,
            16.0
          ],
          "parameter_enable": 1,
          "varname": "replace_toggle",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Replace",
              "parameter_shortname": "Replace",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 1,
          "text": "Replace",
          "texton": "Replace"
        }
      },
      {
        "box": {
          "id": "obj-54",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            828.0,
            117.0,
            22.0
          ],
          "text": "prepend replace"
        }
      },
      {
        "box": {
          "id": "obj-55",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            860.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            562.0,
            78.0,
            68.0,
            16.0
          ],
          "parameter_enable": 1,
          "varname": "auto_toggle",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Auto",
              "parameter_shortname": "Auto",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 1,
          "text": "Auto",
          "texton": "Auto"
        }
      },
      {
        "box": {
          "id": "obj-56",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            888.0,
            96.0,
            22.0
          ],
          "text": "prepend auto"
        }
      },
      {
        "box": {
          "id": "obj-57",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            920.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            490.0,
            98.0,
            140.0,
            16.0
          ],
          "parameter_enable": 1,
          "varname": "free_button",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Free dials",
              "parameter_shortname": "Free",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 0,
          "text": "Free dials",
          "texton": "Free dials"
        }
      },
      {
        "box": {
          "id": "obj-58",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            948.0,
            96.0,
            22.0
          ],
          "text": "prepend free"
        }
      },
      {
        "box": {
          "id": "obj-59",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            980.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            490.0,
            118.0,
            140.0,
            26.0
          ],
          "parameter_enable": 1,
          "varname": "regen_button",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Regenerate",
              "parameter_shortname": "Regen",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 0,
          "text": "Regenerate",
          "texton": "Regenerate"
        }
      },
      {
        "box": {
          "id": "obj-60",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            1008.0,
            103.0,
            22.0
          ],
          "text": "prepend regen"
        }
      },
      {
        "box": {
          "id": "obj-61",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            130.0,
            620.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            490.0,
            20.0,
            70.0,
            18.0
          ],
          "text": "Variations",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-62",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            130.0,
            620.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            490.0,
            38.0,
            70.0,
            18.0
          ],
          "text": "Temperature",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-63",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            130.0,
            620.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            490.0,
            56.0,
            70.0,
            18.0
          ],
          "text": "Seed",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-64",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            850.0,
            80.0,
            300.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            110.0,
            478.0,
            44.0
          ],
          "varname": "status_msg",
          "linecount": 3,
          "text": "press Regenerate with a MIDI clip selected",
          "fontsize": 9.0
        }
      }
    ],
    "lines": [
      {
        "patchline": {
          "source": [
            "obj-1",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-2",
            0
          ],
          "destination": [
            "obj-3",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-2",
            1
          ],
          "destination": [
            "obj-4",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-5",
            0
          ],
          "destination": [
            "obj-6",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-6",
            0
          ],
          "destination": [
            "obj-7",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            1
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            2
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            3
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            4
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            5
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            6
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            7
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            8
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            9
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            10
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            11
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            12
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            13
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            14
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            15
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            16
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            17
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-7",
            18
          ],
          "destination": [
            "obj-8",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-9",
            0
          ],
          "destination": [
            "obj-10",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-12",
            0
          ],
          "destination": [
            "obj-13",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-13",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-16",
            0
          ],
          "destination": [
            "obj-17",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-17",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-20",
            0
          ],
          "destination": [
            "obj-21",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-21",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-24",
            0
          ],
          "destination": [
            "obj-25",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-25",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-28",
            0
          ],
          "destination": [
            "obj-29",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-29",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-32",
            0
          ],
          "destination": [
            "obj-33",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-33",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-36",
            0
          ],
          "destination": [
            "obj-37",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-37",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-40",
            0
          ],
          "destination": [
            "obj-41",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-41",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-44",
            0
          ],
          "destination": [
            "obj-45",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-45",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-47",
            0
          ],
          "destination": [
            "obj-48",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-48",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-49",
            0
          ],
          "destination": [
            "obj-50",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-50",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-51",
            0
          ],
          "destination": [
            "obj-52",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-52",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-53",
            0
          ],
          "destination": [
            "obj-54",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-54",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-55",
            0
          ],
          "destination": [
            "obj-56",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-56",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-57",
            0
          ],
          "destination": [
            "obj-58",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-58",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-59",
            0
          ],
          "destination": [
            "obj-60",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-60",
            0
          ],
          "destination": [
            "obj-2",
            0
          ]
        }
      }
    ],
    "parameters": {
      "obj-12": [
        "Model",
        "Model",
        0
      ],
      "obj-16": [
        "Attr 1",
        "Attr 1",
        0
      ],
      "obj-20": [
        "Attr 2",
        "Attr 2",
        0
      ],
      "obj-24": [
        "Attr 3",
        "Attr 3",
        0
      ],
      "obj-28": [
        "Attr 4",
        "Attr 4",
        0
      ],
      "obj-32": [
        "Attr 5",
        "Attr 5",
        0
      ],
      "obj-36": [
        "Attr 6",
        "Attr 6",
        0
      ],
      "obj-40": [
        "Attr 7",
        "Attr 7",
        0
      ],
      "obj-44": [
        "Attr 8",
        "Attr 8",
        0
      ],
      "obj-47": [
        "Variations",
        "Variations",
        0
      ],
      "obj-49": [
        "Temperature",
        "Temp",
        0
      ],
      "obj-51": [
        "Seed",
        "Seed",
        0
      ],
      "obj-53": [
        "Replace",
        "Replace",
        0
      ],
      "obj-55": [
        "Auto",
        "Auto",
        0
      ],
      "obj-57": [
        "Free dials",
        "Free",
        0
      ],
      "obj-59": [
        "Regenerate",
        "Regen",
        0
      ]
    },
    "dependency_cache": [
      {
        "name": "arvae-live.js",
        "bootpath": ".",
        "type": "TEXT",
        "implicit": 1
      }
    ],
    "autosave": 0
  }
}
