"""kan_core: the numeric engine of the KAN teaching app (numpy + numba only, no UI imports).

Every model (KAN, MLP) follows one small protocol so optimizers and trainers work on both:

    model(x)                      -> (N, n_out) float64 output for x of shape (N, n_in)
    model.loss_and_grad(x, y)     -> (mse, grads) with grads a list (one per layer) of dicts of
                                     arrays shaped like that layer's parameters
    model.loss_and_flat_grad(x, y)-> (mse, g) with g a 1-D float64 vector ordered as get_params()
    model.get_params()            -> 1-D float64 copy of every trainable parameter
    model.set_params(theta)       -> writes a 1-D vector back in place
    model.n_params                -> int, the length of get_params()
    model.copy()                  -> an independent deep copy
    model.to_dict() / Cls.from_dict(d) -> JSON-safe dict and its validated inverse
"""
