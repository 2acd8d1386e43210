import sys

def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(w * x + b, y)
    loss.backward()
    w.data -= learning_rate * w.grad
    b.data -= learning_rate * b.grad
    w.grad = None
    b.grad = None
    print(f"loss {loss.item():.4f}", file=sys.stderr)
    return float(loss)
