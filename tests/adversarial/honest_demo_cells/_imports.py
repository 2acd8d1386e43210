from math import pow as power
