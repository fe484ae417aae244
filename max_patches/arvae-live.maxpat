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
      1400.0,
      1100.0
    ],
    "openinpresentation": 1,
    "default_fontsize": 10.0,
    "default_fontname": "Arial",
    "gridsize": [
      8.0,
      8.0
    ],
    "devicewidth": 760.0,
    "description": "arvae-live: regenerate, sample and interpolate MIDI melodies by musical attributes (AR-VAE) with the arvae-live daemon",
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
          "text": "udpreceive 9128",
          "varname": "reply_in"
        }
      },
      {
        "box": {
          "id": "obj-6",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            420.0,
            380.0,
            166.0,
            22.0
          ],
          "text": "udpsend 127.0.0.1 9128",
          "varname": "probe_out"
        }
      },
      {
        "box": {
          "id": "obj-7",
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
          "id": "obj-8",
          "maxclass": "newobj",
          "numinlets": 26,
          "numoutlets": 26,
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
            1200.0,
            22.0
          ],
          "text": "routepass /arvae/device/probe /arvae/hello /arvae/verify /arvae/ping /arvae/status /arvae/models/begin /arvae/models/item /arvae/models/end /arvae/attrs/begin /arvae/attrs/item /arvae/attrs/end /arvae/model/load /arvae/clip/end /arvae/result/begin /arvae/result/note /arvae/result/asked /arvae/result/end /arvae/regen /arvae/sample /arvae/interp /arvae/resend /arvae/scale /arvae/cancel /arvae/warning /arvae/error"
        }
      },
      {
        "box": {
          "id": "obj-9",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            1240.0,
            160.0,
            187.0,
            22.0
          ],
          "text": "print arvae-live-unrouted"
        }
      },
      {
        "box": {
          "id": "obj-10",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 3,
          "outlettype": [
            "",
            "",
            ""
          ],
          "patching_rect": [
            420.0,
            20.0,
            240.0,
            22.0
          ],
          "text": "pattr arvae_state @autorestore 1 @thru 0",
          "varname": "state_store",
          "parameter_enable": 1,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "arvae state",
              "parameter_shortname": "state",
              "parameter_type": 3,
              "parameter_invisible": 1
            }
          },
          "saved_object_attributes": {
            "parameter_enable": 1,
            "parameter_mappable": 0
          }
        }
      },
      {
        "box": {
          "id": "obj-11",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            420.0,
            50.0,
            117.0,
            22.0
          ],
          "text": "prepend restore"
        }
      },
      {
        "box": {
          "id": "obj-12",
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
          "id": "obj-13",
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
          "id": "obj-14",
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
            64.0,
            18.0
          ],
          "text": "arvae-live",
          "fontface": 1
        }
      },
      {
        "box": {
          "id": "obj-15",
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
            72.0,
            4.0,
            96.0,
            15.0
          ],
          "parameter_enable": 1,
          "varname": "mode_menu",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Mode",
              "parameter_shortname": "Mode",
              "parameter_type": 2,
              "parameter_enum": [
                "Regenerate",
                "Sample",
                "Interpolate"
              ],
              "parameter_mmax": 2
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-16",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            700.0,
            75.0,
            96.0,
            22.0
          ],
          "text": "prepend mode"
        }
      },
      {
        "box": {
          "id": "obj-17",
          "maxclass": "live.menu",
          "numinlets": 1,
          "numoutlets": 3,
          "outlettype": [
            "",
            "",
            "float"
          ],
          "patching_rect": [
            830.0,
            50.0,
            120.0,
            15.0
          ],
          "presentation": 1,
          "presentation_rect": [
            172.0,
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
                "auto (by meter)"
              ],
              "parameter_mmax": 0
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-18",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            830.0,
            75.0,
            103.0,
            22.0
          ],
          "text": "prepend model"
        }
      },
      {
        "box": {
          "id": "obj-19",
          "maxclass": "live.menu",
          "numinlets": 1,
          "numoutlets": 3,
          "outlettype": [
            "",
            "",
            "float"
          ],
          "patching_rect": [
            1280.0,
            50.0,
            120.0,
            15.0
          ],
          "presentation": 1,
          "presentation_rect": [
            516.0,
            146.0,
            130.0,
            15.0
          ],
          "parameter_enable": 1,
          "varname": "key_menu",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Key",
              "parameter_shortname": "Key",
              "parameter_type": 2,
              "parameter_enum": [
                "Auto (clip's key)",
                "Off (any pitch)",
                "Live's scale"
              ],
              "parameter_mmax": 2
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-20",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            1280.0,
            75.0,
            89.0,
            22.0
          ],
          "text": "prepend key"
        }
      },
      {
        "box": {
          "id": "obj-21",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            960.0,
            50.0,
            300.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            308.0,
            2.0,
            446.0,
            18.0
          ],
          "varname": "status_conn",
          "text": "daemon offline: run `arvae-live serve`"
        }
      },
      {
        "box": {
          "id": "obj-22",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            20.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            22.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_0",
          "text": "rhythmic complexity",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-23",
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
            6.0,
            36.0,
            38.0,
            38.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_0",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "rhythmic_complexity",
              "parameter_shortname": "rhythmic_complexity",
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
          "id": "obj-24",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 0"
        }
      },
      {
        "box": {
          "id": "obj-25",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            20.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            48.0,
            36.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_0",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-26",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            150.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            124.0,
            22.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_1",
          "text": "pitch range",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-27",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            150.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            124.0,
            36.0,
            38.0,
            38.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_1",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "pitch_range",
              "parameter_shortname": "pitch_range",
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
          "id": "obj-28",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            150.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 1"
        }
      },
      {
        "box": {
          "id": "obj-29",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            150.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            166.0,
            36.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_1",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-30",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            280.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            242.0,
            22.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_2",
          "text": "note density",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-31",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            280.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            242.0,
            36.0,
            38.0,
            38.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_2",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "note_density",
              "parameter_shortname": "note_density",
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
          "id": "obj-32",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            280.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 2"
        }
      },
      {
        "box": {
          "id": "obj-33",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            280.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            284.0,
            36.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_2",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-34",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            410.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            360.0,
            22.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_3",
          "text": "contour",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-35",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            410.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            360.0,
            36.0,
            38.0,
            38.0
          ],
          "parameter_enable": 1,
          "varname": "attr_dial_3",
          "showname": 0,
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "contour",
              "parameter_shortname": "contour",
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
          "id": "obj-36",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            410.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 3"
        }
      },
      {
        "box": {
          "id": "obj-37",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            410.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            402.0,
            36.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_3",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-38",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            540.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            78.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_4",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-39",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            540.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            92.0,
            38.0,
            38.0
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
          "id": "obj-40",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            540.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 4"
        }
      },
      {
        "box": {
          "id": "obj-41",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            540.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            48.0,
            92.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_4",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-42",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            670.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            124.0,
            78.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_5",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-43",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            670.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            124.0,
            92.0,
            38.0,
            38.0
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
          "id": "obj-44",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            670.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 5"
        }
      },
      {
        "box": {
          "id": "obj-45",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            670.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            166.0,
            92.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_5",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-46",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            800.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            242.0,
            78.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_6",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-47",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            800.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            242.0,
            92.0,
            38.0,
            38.0
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
          "id": "obj-48",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            800.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 6"
        }
      },
      {
        "box": {
          "id": "obj-49",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            800.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            284.0,
            92.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_6",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-50",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            930.0,
            430.0,
            120.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            360.0,
            78.0,
            116.0,
            14.0
          ],
          "varname": "attr_label_7",
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-51",
          "maxclass": "live.dial",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            930.0,
            455.0,
            44.0,
            48.0
          ],
          "presentation": 1,
          "presentation_rect": [
            360.0,
            92.0,
            38.0,
            38.0
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
          "id": "obj-52",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            930.0,
            510.0,
            90.0,
            22.0
          ],
          "text": "prepend target 7"
        }
      },
      {
        "box": {
          "id": "obj-53",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            930.0,
            540.0,
            120.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            402.0,
            92.0,
            74.0,
            40.0
          ],
          "varname": "attr_result_7",
          "text": "",
          "fontsize": 8.0,
          "linecount": 3
        }
      },
      {
        "box": {
          "id": "obj-54",
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
            482.0,
            144.0,
            30.0,
            18.0
          ],
          "text": "Key",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-55",
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
            546.0,
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
          "id": "obj-56",
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
          "id": "obj-57",
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
            672.0,
            22.0,
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
          "id": "obj-58",
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
          "id": "obj-59",
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
            546.0,
            40.0,
            60.0,
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
          "id": "obj-60",
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
          "id": "obj-61",
          "maxclass": "live.numbox",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            "float"
          ],
          "patching_rect": [
            20.0,
            800.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            672.0,
            40.0,
            40.0,
            15.0
          ],
          "parameter_enable": 1,
          "varname": "bars_box",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Bars",
              "parameter_shortname": "Bars",
              "parameter_type": 1,
              "parameter_mmin": 1.0,
              "parameter_mmax": 64.0,
              "parameter_initial": [
                4
              ],
              "parameter_initial_enable": 1,
              "parameter_unitstyle": 0
            }
          }
        }
      },
      {
        "box": {
          "id": "obj-62",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            828.0,
            96.0,
            22.0
          ],
          "text": "prepend bars"
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
            482.0,
            20.0,
            64.0,
            18.0
          ],
          "text": "Variations/steps",
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
            130.0,
            620.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            608.0,
            20.0,
            64.0,
            18.0
          ],
          "text": "Temperature",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-65",
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
            482.0,
            38.0,
            64.0,
            18.0
          ],
          "text": "Seed",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-66",
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
            608.0,
            38.0,
            64.0,
            18.0
          ],
          "text": "Sample bars",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-67",
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
            482.0,
            60.0,
            62.0,
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
          "id": "obj-68",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            888.0,
            117.0,
            22.0
          ],
          "text": "prepend replace"
        }
      },
      {
        "box": {
          "id": "obj-69",
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
            548.0,
            60.0,
            62.0,
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
          "id": "obj-70",
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
          "text": "prepend auto"
        }
      },
      {
        "box": {
          "id": "obj-71",
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
            614.0,
            60.0,
            70.0,
            16.0
          ],
          "parameter_enable": 1,
          "varname": "free_button",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Free dials",
              "parameter_shortname": "Free dials",
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
          "id": "obj-72",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            1008.0,
            96.0,
            22.0
          ],
          "text": "prepend free"
        }
      },
      {
        "box": {
          "id": "obj-73",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            1040.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            688.0,
            60.0,
            62.0,
            16.0
          ],
          "parameter_enable": 1,
          "varname": "setb_button",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Set B",
              "parameter_shortname": "Set B",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 0,
          "text": "Set B",
          "texton": "Set B"
        }
      },
      {
        "box": {
          "id": "obj-74",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            1068.0,
            96.0,
            22.0
          ],
          "text": "prepend setb"
        }
      },
      {
        "box": {
          "id": "obj-75",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            1100.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            482.0,
            80.0,
            130.0,
            24.0
          ],
          "parameter_enable": 1,
          "varname": "go_button",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Go",
              "parameter_shortname": "Go",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 0,
          "text": "Go",
          "texton": "Go"
        }
      },
      {
        "box": {
          "id": "obj-76",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            1128.0,
            82.0,
            22.0
          ],
          "text": "prepend go"
        }
      },
      {
        "box": {
          "id": "obj-77",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            1160.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            616.0,
            80.0,
            64.0,
            24.0
          ],
          "parameter_enable": 1,
          "varname": "cancel_button",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Cancel",
              "parameter_shortname": "Cancel",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 0,
          "text": "Cancel",
          "texton": "Cancel"
        }
      },
      {
        "box": {
          "id": "obj-78",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            1188.0,
            110.0,
            22.0
          ],
          "text": "prepend cancel"
        }
      },
      {
        "box": {
          "id": "obj-79",
          "maxclass": "live.text",
          "numinlets": 1,
          "numoutlets": 2,
          "outlettype": [
            "",
            ""
          ],
          "patching_rect": [
            20.0,
            1220.0,
            80.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            684.0,
            80.0,
            66.0,
            24.0
          ],
          "parameter_enable": 1,
          "varname": "overwrite_button",
          "saved_attribute_attributes": {
            "valueof": {
              "parameter_longname": "Overwrite",
              "parameter_shortname": "Overwrite",
              "parameter_type": 2,
              "parameter_enum": [
                "off",
                "on"
              ],
              "parameter_mmax": 1
            }
          },
          "mode": 0,
          "text": "Overwrite",
          "texton": "Overwrite"
        }
      },
      {
        "box": {
          "id": "obj-80",
          "maxclass": "newobj",
          "numinlets": 1,
          "numoutlets": 1,
          "outlettype": [
            ""
          ],
          "patching_rect": [
            20.0,
            1248.0,
            131.0,
            22.0
          ],
          "text": "prepend overwrite"
        }
      },
      {
        "box": {
          "id": "obj-81",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            850.0,
            80.0,
            300.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            482.0,
            108.0,
            272.0,
            14.0
          ],
          "varname": "status_busy",
          "linecount": 1,
          "text": "",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-82",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            850.0,
            100.0,
            300.0,
            20.0
          ],
          "presentation": 1,
          "presentation_rect": [
            482.0,
            124.0,
            272.0,
            14.0
          ],
          "varname": "partner_label",
          "linecount": 1,
          "text": "B: none",
          "fontsize": 9.0
        }
      },
      {
        "box": {
          "id": "obj-83",
          "maxclass": "comment",
          "numinlets": 1,
          "numoutlets": 0,
          "patching_rect": [
            850.0,
            120.0,
            300.0,
            40.0
          ],
          "presentation": 1,
          "presentation_rect": [
            6.0,
            136.0,
            474.0,
            32.0
          ],
          "varname": "status_msg",
          "linecount": 2,
          "text": "select a MIDI clip and press Go",
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
            "obj-8",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
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
            "obj-8",
            18
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
            "obj-8",
            19
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
            "obj-8",
            20
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
            "obj-8",
            21
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
            "obj-8",
            22
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
            "obj-8",
            23
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
            "obj-8",
            24
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
            "obj-8",
            25
          ],
          "destination": [
            "obj-9",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-10",
            0
          ],
          "destination": [
            "obj-11",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-11",
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
            "obj-15",
            0
          ],
          "destination": [
            "obj-16",
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
            "obj-2",
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
            "obj-18",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-18",
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
            "obj-19",
            0
          ],
          "destination": [
            "obj-20",
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
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-23",
            0
          ],
          "destination": [
            "obj-24",
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
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-27",
            0
          ],
          "destination": [
            "obj-28",
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
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-31",
            0
          ],
          "destination": [
            "obj-32",
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
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-35",
            0
          ],
          "destination": [
            "obj-36",
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
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-39",
            0
          ],
          "destination": [
            "obj-40",
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
            "obj-2",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-43",
            0
          ],
          "destination": [
            "obj-44",
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
      },
      {
        "patchline": {
          "source": [
            "obj-61",
            0
          ],
          "destination": [
            "obj-62",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-62",
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
            "obj-67",
            0
          ],
          "destination": [
            "obj-68",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-68",
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
            "obj-69",
            0
          ],
          "destination": [
            "obj-70",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-70",
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
            "obj-71",
            0
          ],
          "destination": [
            "obj-72",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-72",
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
            "obj-73",
            0
          ],
          "destination": [
            "obj-74",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-74",
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
            "obj-75",
            0
          ],
          "destination": [
            "obj-76",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-76",
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
            "obj-77",
            0
          ],
          "destination": [
            "obj-78",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-78",
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
            "obj-79",
            0
          ],
          "destination": [
            "obj-80",
            0
          ]
        }
      },
      {
        "patchline": {
          "source": [
            "obj-80",
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
      "obj-10": [
        "arvae state",
        "state",
        0
      ],
      "obj-15": [
        "Mode",
        "Mode",
        0
      ],
      "obj-17": [
        "Model",
        "Model",
        0
      ],
      "obj-19": [
        "Key",
        "Key",
        0
      ],
      "obj-23": [
        "rhythmic_complexity",
        "rhythmic_complexity",
        0
      ],
      "obj-27": [
        "pitch_range",
        "pitch_range",
        0
      ],
      "obj-31": [
        "note_density",
        "note_density",
        0
      ],
      "obj-35": [
        "contour",
        "contour",
        0
      ],
      "obj-39": [
        "Attr 5",
        "Attr 5",
        0
      ],
      "obj-43": [
        "Attr 6",
        "Attr 6",
        0
      ],
      "obj-47": [
        "Attr 7",
        "Attr 7",
        0
      ],
      "obj-51": [
        "Attr 8",
        "Attr 8",
        0
      ],
      "obj-55": [
        "Variations",
        "Variations",
        0
      ],
      "obj-57": [
        "Temperature",
        "Temp",
        0
      ],
      "obj-59": [
        "Seed",
        "Seed",
        0
      ],
      "obj-61": [
        "Bars",
        "Bars",
        0
      ],
      "obj-67": [
        "Replace",
        "Replace",
        0
      ],
      "obj-69": [
        "Auto",
        "Auto",
        0
      ],
      "obj-71": [
        "Free dials",
        "Free dials",
        0
      ],
      "obj-73": [
        "Set B",
        "Set B",
        0
      ],
      "obj-75": [
        "Go",
        "Go",
        0
      ],
      "obj-77": [
        "Cancel",
        "Cancel",
        0
      ],
      "obj-79": [
        "Overwrite",
        "Overwrite",
        0
      ]
    },
    "dependency_cache": [
      {
        "name": "arvae-live.js",
        "bootpath": ".",
        "patcherrelativepath": ".",
        "type": "TEXT",
        "implicit": 1
      }
    ],
    "autosave": 0
  }
}
